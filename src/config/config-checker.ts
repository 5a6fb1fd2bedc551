/*
 * Validation of parsed JSON that collects every problem instead of stopping at the first, each with
 * the key path it was found at (such as `sources[0].url`), so a config file can be fixed in one go.
 * Values are quoted back in messages, except under a key that looks like it holds a password.
 */

/** One problem in a config file: `path` is the key path, such as `sources[0].url`. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

/** A key that looks like it holds a password, other than the two that say where one is. */
const PASSWORD_KEY = /pass(?:word|wd)?|secret|credential/i;
/** Keys that say "password" without holding one. */
const NOT_SECRET_KEYS: ReadonlySet<string> = new Set(['passwordLastSet']);

function isSecretKey(key: string): boolean {
  return PASSWORD_KEY.test(key) && !NOT_SECRET_KEYS.has(key);
}

export type Json = Readonly<Record<string, unknown>>;

/** Collects issues; each check returns the value when it is good, else undefined (and adds an issue). */
export class Checker {
  readonly issues: ConfigIssue[] = [];

  add(path: string, message: string): void {
    this.issues.push({ path, message });
  }

  /** "expected X, got Y", with Y withheld for anything under a password key. */
  expected(path: string, expected: string, got: unknown): void {
    this.add(path, `expected ${expected}, got ${show(got, path)}`);
  }

  object(value: unknown, path: string, expected = 'an object'): Json | undefined {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Json;
    this.expected(path, expected, value);
    return undefined;
  }

  /** Reports keys not in `known`; a password-like key is refused as such, its value never shown. */
  keys(record: Json, path: string, known: readonly string[]): void {
    for (const key of Object.keys(record)) {
      if (known.includes(key)) continue;
      const at = join(path, key);
      if (isSecretKey(key)) {
        this.add(at, 'a password is never read from the config file: put the bind password in a file only phsync can read (bindPasswordFile) or in an environment variable (bindPasswordEnv)');
      } else {
        const near = known.find((k) => k.toLowerCase() === key.toLowerCase());
        this.add(at, `unknown key${near === undefined ? '' : ` (did you mean ${JSON.stringify(near)}?)`}; known keys: ${known.join(', ')}`);
      }
    }
  }

  string(record: Json, key: string, path: string, expected = 'a non-empty string'): string | undefined {
    const value = record[key];
    if (value === undefined) return undefined;
    if (typeof value === 'string' && value.trim() !== '') return value;
    this.expected(join(path, key), expected, value);
    return undefined;
  }

  boolean(record: Json, key: string, path: string): boolean | undefined {
    const value = record[key];
    if (value === undefined || typeof value === 'boolean') return value;
    this.expected(join(path, key), 'true or false', value);
    return undefined;
  }

  /** A non-empty array of strings, each passing `check` (`expected` says what that is, with its article). */
  strings(record: Json, key: string, path: string, expected: string, check: (s: string) => boolean): string[] | undefined {
    const value = record[key];
    if (value === undefined) return undefined;
    const at = join(path, key);
    if (!Array.isArray(value) || value.length === 0) {
      this.expected(at, `a non-empty array, each ${expected}`, value);
      return undefined;
    }
    const out: string[] = [];
    value.forEach((item: unknown, i) => {
      if (typeof item === 'string' && check(item)) out.push(item.trim());
      else this.expected(`${at}[${i}]`, expected, item);
    });
    return out.length === value.length ? out : undefined;
  }
}

export function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return type === 'object' ? 'an object' : type === 'undefined' ? 'nothing' : `a ${type}`;
}

function show(value: unknown, path: string): string {
  if (path.split(/[.[\]]/).some(isSecretKey)) return `${kindOf(value)} (not shown)`;
  if (value === undefined) return 'nothing';
  if (typeof value === 'object' && value !== null) return kindOf(value);
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** One of `allowed`; `fallback` when the key is absent (undefined fallback: the key is required). */
export function parseEnum<T extends string>(c: Checker, record: Json, key: string, path: string, allowed: readonly T[], fallback: T | undefined): T | undefined {
  const value = record[key];
  if (value === undefined) {
    if (fallback === undefined) c.add(join(path, key), `missing: expected one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
    return fallback;
  }
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  c.expected(join(path, key), `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, value);
  return undefined;
}
