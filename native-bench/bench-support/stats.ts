/**
 * Summaries of repeated measurements: the median (robust to the one round a noisy neighbour
 * spoiled) and the range (min–max, so the spread is reported rather than hidden).
 */

export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** How many samples. */
  readonly n: number;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median of no samples');
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function range(xs: readonly number[]): [min: number, max: number] {
  if (xs.length === 0) throw new RangeError('range of no samples');
  let min = Infinity;
  let max = -Infinity;
  for (const x of xs) {
    if (x < min) min = x;
    if (x > max) max = x;
  }
  return [min, max];
}

export function summarize(xs: readonly number[]): Summary {
  const [min, max] = range(xs);
  return { median: median(xs), min, max, n: xs.length };
}

/** 12,345 (rounded, thousands separated). */
export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** "12,345 (11,900–12,800)": the median and the range of a summary. */
export function fmtSummary(s: Summary, fmt: (n: number) => string = fmtInt): string {
  return s.n > 1 ? `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})` : fmt(s.median);
}

export function fmtPercent(ratio: number, digits = 0): string {
  return `${(ratio * 100).toFixed(digits)}%`;
}

/**
 * A plain-text table: the first column left-aligned, the others right-aligned (numbers), unless
 * `align` says otherwise ('l' or 'r' per column).
 */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[], align?: string): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const isLeft = (c: number): boolean => (align === undefined ? c === 0 : align[c] === 'l');
  const line = (cells: readonly string[]): string =>
    widths.map((w, c) => (isLeft(c) ? (cells[c] ?? '').padEnd(w) : (cells[c] ?? '').padStart(w))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
