import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { once } from 'node:events';
import type { CredentialBatch, CredentialItem, ItemResult } from './credential-batch.ts';
import type { CredentialTarget } from './credential-target.ts';

function line(item: CredentialItem): string {
  // Exactly the documented fields, in a fixed order: consumers may diff these files.
  if (item.credential === undefined) {
    // A disable item: no credential (the reader keeps the one it has) and `disabled: true`. A later
    // line with a credential (and no `disabled`) is the user enabled again.
    return `${JSON.stringify({ sourceAnchor: item.sourceAnchor, userPrincipalName: item.userPrincipalName, disabled: item.disabled, changedAt: item.changedAt })}\n`;
  }
  return `${JSON.stringify({
    sourceAnchor: item.sourceAnchor,
    userPrincipalName: item.userPrincipalName,
    credential: item.credential,
    forceChangePasswordNextSignIn: item.forceChangePasswordNextSignIn,
    ...(item.disabled ? { disabled: true } : {}),
    changedAt: item.changedAt,
    ...(item.riskLevel === 'high' ? { riskLevel: 'high' } : {}),
    ...(item.samePassword === true ? { samePassword: true } : {}),
  })}\n`;
}

/**
 * One JSON object per user, appended. Delivery is at least once: a batch written just before a
 * crash cannot be recognised afterwards, so it is written again on resume and its users appear twice;
 * readers keep the last line per sourceAnchor. A file is synced to disk before its batch counts.
 */
export class NdjsonTarget implements CredentialTarget {
  readonly id: string;
  readonly #file: FileHandle | undefined;
  readonly #stream: Writable | undefined;
  /** Only regular files can be synced to disk; a pipe or /dev/null refuses fdatasync. */
  readonly #durable: boolean;

  private constructor(id: string, file: FileHandle | undefined, stream: Writable | undefined, durable: boolean) {
    this.id = id;
    this.#file = file;
    this.#stream = stream;
    this.#durable = durable;
  }

  static async open(path: string): Promise<NdjsonTarget> {
    if (path === '-') return new NdjsonTarget('ndjson:-', undefined, process.stdout, false);
    const file = await open(path, 'a', 0o600);
    return new NdjsonTarget(`ndjson:${resolve(path)}`, file, undefined, (await file.stat()).isFile());
  }

  async write(batch: CredentialBatch): Promise<ItemResult[]> {
    const text = batch.items.map(line).join('');
    if (this.#file !== undefined) {
      await this.#file.write(text);
      if (this.#durable) await this.#file.datasync();
    } else if (this.#stream !== undefined && !this.#stream.write(text)) {
      await once(this.#stream, 'drain');
    }
    return batch.items.map(() => ({ status: 'applied' }));
  }

  async appliedResults(): Promise<undefined> {
    return undefined;
  }

  async close(): Promise<void> {
    await this.#file?.close();
  }
}
