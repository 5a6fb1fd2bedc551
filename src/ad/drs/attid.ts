/**
 * ATTRTYP ↔ OID (MS-DRSR 5.16.4, OidFromAttid and MakeAttid). DRS names attributes and classes by a
 * 32-bit ATTRTYP: the high 16 bits index a prefix table entry (the BER bytes of an OID minus its last
 * arc, or minus the last two bytes of it), the low 16 bits carry the last arc (bit 15 set when the arc
 * is 16384 or more and the prefix holds its high bits). Each side sends its table with the message.
 */

export interface PrefixEntry {
  readonly ndx: number;
  /** The OID prefix in BER content octets (no tag, no length). */
  readonly prefix: Buffer;
}

/** The first ATTRTYP that is no prefix-table value (msDS-IntId values and internal ones: MS-ADTS 3.1.1.2.6). */
export const ATTRTYP_PREFIX_LIMIT = 0x8000_0000;

/** The BER content octets of a dotted OID (ITU-T X.690 8.19): the first two arcs share a subidentifier. */
export function berFromOid(oid: string): Buffer {
  const arcs = oid.split('.').map((a) => (/^[0-9]+$/.test(a) ? Number(a) : Number.NaN));
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a))) throw new RangeError(`not an OID: ${JSON.stringify(oid)}`);
  const [first, second] = arcs as [number, number];
  if (first > 2 || (first < 2 && second > 39)) throw new RangeError(`not an OID: ${JSON.stringify(oid)}`);
  const out: number[] = [];
  const put = (value: number): void => {
    const groups: number[] = [value % 128];
    for (let v = Math.floor(value / 128); v > 0; v = Math.floor(v / 128)) groups.push((v % 128) | 0x80);
    for (let i = groups.length - 1; i >= 0; i--) out.push(groups[i]!);
  };
  put(first * 40 + second);
  for (let i = 2; i < arcs.length; i++) put(arcs[i]!);
  return Buffer.from(out);
}

/** The dotted OID of BER content octets; throws RangeError when they end inside a subidentifier. */
export function oidFromBer(bytes: Uint8Array): string {
  const subids: number[] = [];
  let value = 0;
  let open = false;
  for (const byte of bytes) {
    value = value * 128 + (byte & 0x7f);
    if (!Number.isSafeInteger(value)) throw new RangeError('an OID arc is too large');
    open = (byte & 0x80) !== 0;
    if (!open) {
      subids.push(value);
      value = 0;
    }
  }
  if (open || subids.length === 0) throw new RangeError('an OID ends inside an arc');
  const head = subids[0]!;
  const arcs = head < 40 ? [0, head] : head < 80 ? [1, head - 40] : [2, head - 80];
  return [...arcs, ...subids.slice(1)].join('.');
}

/**
 * MS-DRSR 5.16.4's default table (NewPrefixTable): every DC's table starts with these entries at these
 * indexes, so an ATTRTYP built from them means the same on every DC.
 */
const DEFAULT_PREFIXES: ReadonlyArray<readonly [number, string]> = [
  [0x00, '2.5.4'],
  [0x01, '2.5.6'],
  [0x02, '1.2.840.113556.1.2'],
  [0x03, '1.2.840.113556.1.3'],
  [0x04, '2.16.840.1.101.2.2.1'],
  [0x05, '2.16.840.1.101.2.2.3'],
  [0x06, '2.16.840.1.101.2.1.5'],
  [0x07, '2.16.840.1.101.2.1.4'],
  [0x08, '2.5.5'],
  [0x09, '1.2.840.113556.1.4'],
  [0x0a, '1.2.840.113556.1.5'],
  [0x13, '0.9.2342.19200300.100'],
  [0x14, '2.16.840.1.113730.3'],
  [0x15, '0.9.2342.19200300.100.1'],
  [0x16, '2.16.840.1.113730.3.1'],
  [0x17, '1.2.840.113556.1.5.7000'],
  [0x18, '2.5.21'],
  [0x19, '2.5.18'],
  [0x1a, '2.5.20'],
];

export const DEFAULT_PREFIX_ENTRIES: readonly PrefixEntry[] = Object.freeze(DEFAULT_PREFIXES.map(([ndx, oid]) => Object.freeze({ ndx, prefix: berFromOid(oid) })));

/** An OID's prefix (as MakeAttid cuts it) and the low 16 bits of its ATTRTYP. */
function splitOid(oid: string): { prefix: Buffer; lowerWord: number } {
  const ber = berFromOid(oid);
  const last = Number(oid.slice(oid.lastIndexOf('.') + 1));
  if (ber.length < 2 || oid.split('.').length < 3) throw new RangeError(`an OID with an ATTRTYP has at least three arcs: ${JSON.stringify(oid)}`);
  // The last arc takes one BER byte below 128, else the table keeps all but its last two bytes.
  const prefix = Buffer.from(ber.subarray(0, ber.length - (last < 128 ? 1 : 2)));
  const lowerWord = (last % 16384) + (last >= 16384 ? 0x8000 : 0);
  return { prefix, lowerWord };
}

/**
 * A prefix table: ndx → prefix, and back. `makeAttid` may add entries (a new prefix takes the next
 * index after the highest, as Samba does), so a table built for a request is sent with it.
 */
export class PrefixTable {
  readonly #byNdx = new Map<number, Buffer>();
  readonly #byPrefix = new Map<string, number>();
  readonly #added: PrefixEntry[] = [];

  constructor(entries: Iterable<PrefixEntry>) {
    for (const e of entries) this.#put(e.ndx, e.prefix);
  }

  /** A table with MS-DRSR's default prefixes. */
  static withDefaults(): PrefixTable {
    return new PrefixTable(DEFAULT_PREFIX_ENTRIES);
  }

  #put(ndx: number, prefix: Buffer): void {
    // The first entry for an index wins: a reply's table cannot redefine one it already gave.
    if (this.#byNdx.has(ndx)) return;
    this.#byNdx.set(ndx, prefix);
    const key = prefix.toString('hex');
    if (!this.#byPrefix.has(key)) this.#byPrefix.set(key, ndx);
  }

  /** The entries `makeAttid` added to the table it started with (their prefixes are not defaults). */
  get added(): readonly PrefixEntry[] {
    return this.#added;
  }

  entry(ndx: number): PrefixEntry | undefined {
    const prefix = this.#byNdx.get(ndx);
    return prefix === undefined ? undefined : { ndx, prefix };
  }

  /** MakeAttid: the ATTRTYP of `oid`, adding its prefix to the table when it is not there. */
  makeAttid(oid: string): number {
    const { prefix, lowerWord } = splitOid(oid);
    let ndx = this.#byPrefix.get(prefix.toString('hex'));
    if (ndx === undefined) {
      ndx = Math.max(-1, ...this.#byNdx.keys()) + 1;
      if (ndx >= 0x8000) throw new RangeError('the prefix table is full');
      this.#put(ndx, prefix);
      this.#added.push({ ndx, prefix });
    }
    return ((ndx << 16) | lowerWord) >>> 0;
  }

  /** The ATTRTYP of `oid` if its prefix is in the table (never adds one). */
  attidOf(oid: string): number | undefined {
    const { prefix, lowerWord } = splitOid(oid);
    const ndx = this.#byPrefix.get(prefix.toString('hex'));
    return ndx === undefined ? undefined : ((ndx << 16) | lowerWord) >>> 0;
  }

  /** OidFromAttid: undefined for an ATTRTYP outside the prefix range, or whose index the table lacks. */
  oidFromAttid(attid: number): string | undefined {
    if (!Number.isInteger(attid) || attid < 0 || attid >= ATTRTYP_PREFIX_LIMIT) return undefined;
    const prefix = this.#byNdx.get(attid >>> 16);
    if (prefix === undefined) return undefined;
    let lowerWord = attid & 0xffff;
    let tail: number[];
    if (lowerWord < 128) {
      tail = [lowerWord];
    } else {
      if (lowerWord >= 0x8000) lowerWord -= 0x8000;
      tail = [0x80 | ((lowerWord >> 7) & 0x7f), lowerWord & 0x7f];
    }
    try {
      return oidFromBer(Buffer.concat([prefix, Buffer.from(tail)]));
    } catch {
      return undefined;
    }
  }
}
