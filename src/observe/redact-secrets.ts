/**
 * Replaces known secret values (the bind password, the tenant token, ...) in finished log lines,
 * whatever field or message they ended up in: the last line of defence after key-based redaction.
 *
 * A secret is looked for in the forms it takes in the line:
 * - a text line holds messages as they were written: the secret itself, and the secret as it reads
 *   inside JSON quoted in a message (an error echoing a request body): `a"b` as `a\"b`;
 * - a JSON line holds every string JSON-escaped: the escaped secret, and the secret escaped twice
 *   (JSON quoted in a message, escaped again by the line). The raw form is not looked for in a JSON
 *   line when it differs from the escaped one: it can only match across the line's syntax (a secret
 *   `\n` would match every escaped newline), and replacing it would break the line.
 *
 * Any non-empty value is redacted, however short: a very short secret (a 3-character password) also
 * redacts every innocent occurrence of those characters in the logs, which is the right trade.
 */

export const REDACTED = '[REDACTED]';

export type LineForm = 'text' | 'json';

const jsonEscaped = (value: string): string => JSON.stringify(value).slice(1, -1);
const regexEscaped = (value: string): string => value.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

export class SecretRedactor {
  readonly #secrets = new Set<string>();
  #patterns: { text: RegExp; json: RegExp } | undefined;

  /** From now on every line passed to redact() has each occurrence of `value` replaced. */
  add(value: string): void {
    if (value === '' || this.#secrets.has(value)) return;
    this.#secrets.add(value);
    this.#patterns = undefined;
  }

  get size(): number {
    return this.#secrets.size;
  }

  redact(line: string, form: LineForm): string {
    if (this.#secrets.size === 0) return line;
    this.#patterns ??= this.#compile();
    const pattern = this.#patterns[form];
    pattern.lastIndex = 0;
    return line.replace(pattern, REDACTED);
  }

  #compile(): { text: RegExp; json: RegExp } {
    const text = new Set<string>();
    const json = new Set<string>();
    for (const secret of this.#secrets) {
      const once = jsonEscaped(secret);
      text.add(secret).add(once);
      json.add(once).add(jsonEscaped(once));
    }
    return { text: alternation(text), json: alternation(json) };
  }
}

/** One pass over the line, longest form first: a secret inside another is not redacted piecemeal, and [REDACTED] itself is never rescanned. */
function alternation(forms: ReadonlySet<string>): RegExp {
  const sorted = [...forms].sort((a, b) => b.length - a.length);
  return new RegExp(sorted.map(regexEscaped).join('|'), 'g');
}
