import { readFileSync } from 'node:fs';

export interface FixturePassword {
  readonly userPrincipalName: string;
  readonly password: string;
  readonly disabled: boolean;
  readonly mustChange: boolean;
  readonly empty: boolean;
}

/** Reads the fixture generator's passwords CSV (RFC 4180 quoting). */
export function readPasswordsCsv(path: string): FixturePassword[] {
  const text = readFileSync(path, 'utf8');
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  const [header, ...data] = rows;
  if (header?.join(',') !== 'userPrincipalName,password,disabled,mustChange,empty') throw new Error(`unexpected CSV header in ${path}`);
  return data.map((r) => ({ userPrincipalName: r[0]!, password: r[1]!, disabled: r[2] === 'true', mustChange: r[3] === 'true', empty: r[4] === 'true' }));
}
