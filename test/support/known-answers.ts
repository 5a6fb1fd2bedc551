import { readFileSync } from 'node:fs';

export interface KnownAnswer {
  readonly password: string;
  readonly ntHash: string;
  readonly salt: string;
  readonly iterations: number;
  readonly hash: string;
  readonly credential: string;
  readonly note: string;
}

/**
 * The known answers, copied into fixtures/ from the project's shared vectors so that a clone of the
 * repository alone can run its tests.
 */
export function knownAnswers(): KnownAnswer[] {
  const file = new URL('../../fixtures/phs-known-answers.json', import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { vectors: KnownAnswer[] }).vectors;
}
