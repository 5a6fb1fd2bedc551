/**
 * Where a text stops being JSON (RFC 8259), as an index into the text; undefined when it is valid
 * JSON. V8's JSON.parse messages quote the input around the error, which the tenant must not echo
 * (it may hold credentials), and some of them give no position, so the tenant finds it itself. Only
 * called after JSON.parse failed; iterative, so deep nesting cannot overflow the stack.
 */
export function jsonErrorPosition(text: string): number | undefined {
  let i = 0;
  const n = text.length;
  // What each open container expects next.
  const stack: ('array' | 'object')[] = [];

  const skipSpace = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
  };
  // Each scanner returns false at the first character that cannot continue, leaving i there.
  const scanString = (): boolean => {
    i++; // the opening quote
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return true;
      }
      if (c < 0x20) return false;
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === undefined) {
          i++;
          return false;
        }
        if (e === 'u') {
          for (let k = 2; k < 6; k++) {
            if (!/[0-9a-fA-F]/.test(text[i + k] ?? '')) {
              i += k;
              return false;
            }
          }
          i += 6;
        } else if ('"\\/bfnrt'.includes(e)) {
          i += 2;
        } else {
          i++;
          return false;
        }
        continue;
      }
      i++;
    }
    return false;
  };
  const digits = (): number => {
    const start = i;
    while (i < n && text.charCodeAt(i) >= 0x30 && text.charCodeAt(i) <= 0x39) i++;
    return i - start;
  };
  const scanNumber = (): boolean => {
    if (text[i] === '-') i++;
    if (text[i] === '0') i++;
    else if (digits() === 0) return false;
    if (text[i] === '.') {
      i++;
      if (digits() === 0) return false;
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      if (digits() === 0) return false;
    }
    return true;
  };
  const scanLiteral = (word: string): boolean => {
    for (let k = 0; k < word.length; k++, i++) if (text[i] !== word[k]) return false;
    return true;
  };
  let state: 'value' | 'key' | 'after' = 'value';
  for (;;) {
    skipSpace();
    const c = text[i];
    if (state === 'value') {
      if (c === '{' || c === '[') {
        i++;
        stack.push(c === '{' ? 'object' : 'array');
        skipSpace();
        if (text[i] === (c === '{' ? '}' : ']')) {
          i++;
          stack.pop();
          state = 'after';
        } else {
          state = c === '{' ? 'key' : 'value';
        }
        continue;
      }
      let ok: boolean;
      if (c === '"') ok = scanString();
      else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) ok = scanNumber();
      else if (c === 't') ok = scanLiteral('true');
      else if (c === 'f') ok = scanLiteral('false');
      else if (c === 'n') ok = scanLiteral('null');
      else ok = false;
      if (!ok) return i;
      state = 'after';
    } else if (state === 'key') {
      if (c !== '"' || !scanString()) return i;
      skipSpace();
      if (text[i] !== ':') return i;
      i++;
      state = 'value';
    } else {
      // After a complete value: the end, the next element, or the close of its container.
      const open = stack.at(-1);
      if (open === undefined) return i < n ? i : undefined;
      if (c === ',') {
        i++;
        state = open === 'object' ? 'key' : 'value';
      } else if ((open === 'object' && c === '}') || (open === 'array' && c === ']')) {
        i++;
        stack.pop();
      } else {
        return i;
      }
    }
  }
}

/** "line L column C" (1-based) of an index, for people reading the error. */
export function lineAndColumn(text: string, position: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let k = 0; k < position && k < text.length; k++) {
    if (text.charCodeAt(k) === 0x0a) {
      line++;
      lineStart = k + 1;
    }
  }
  return { line, column: position - lineStart + 1 };
}
