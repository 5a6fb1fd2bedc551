import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_PREFIX_ENTRIES, PrefixTable, berFromOid, oidFromBer } from '../../src/ad/drs/attid.ts';

describe('OID BER content octets', () => {
  it('encodes the first two arcs in one subidentifier and the rest base 128', () => {
    // 1.2.840.113556.1.4.221: 1*40+2 = 0x2a; 840 = 0x86 0x48; 113556 = 0x86 0xf7 0x14; 221 = 0x81 0x5d.
    assert.equal(berFromOid('1.2.840.113556.1.4.221').toString('hex'), '2a864886f7140104815d');
    // 2.16.840: 2*40+16 = 96 = 0x60.
    assert.equal(berFromOid('2.16.840.1.113730.3').toString('hex'), '6086480186f84203');
    assert.equal(berFromOid('0.9.2342.19200300.100').toString('hex'), '0992268993f22c64');
  });

  it('decodes back, including a first arc of 2 with a large second arc', () => {
    for (const oid of ['1.2.840.113556.1.4.221', '2.5.4.0', '0.9.2342.19200300.100.1.1', '2.999.1', '1.3.6.1.4.1.7165.4.1.14']) {
      assert.equal(oidFromBer(berFromOid(oid)), oid);
    }
  });

  it('refuses what is no OID', () => {
    assert.throws(() => berFromOid('1'), RangeError);
    assert.throws(() => berFromOid('3.1.2'), RangeError);
    assert.throws(() => berFromOid('1.40.2'), RangeError);
    assert.throws(() => berFromOid('1.2.x'), RangeError);
    assert.throws(() => oidFromBer(Buffer.from([0x2a, 0x86])), RangeError);
    assert.throws(() => oidFromBer(Buffer.alloc(0)), RangeError);
  });
});

describe('MakeAttid / OidFromAttid against the default prefix table (MS-DRSR 5.16.4)', () => {
  // ATTRTYPs every DC uses for these (Samba's drsuapi.idl drsuapi_DsAttributeId and DRSUAPI_OBJECTCLASS values).
  const KNOWN: ReadonlyArray<readonly [string, number, string]> = [
    ['2.5.4.0', 0x0000_0000, 'objectClass'],
    ['2.5.4.3', 0x0000_0003, 'cn'],
    ['1.2.840.113556.1.2.1', 0x0002_0001, 'instanceType'],
    ['1.2.840.113556.1.2.281', 0x0002_0119, 'nTSecurityDescriptor (arc >= 128: two bytes)'],
    ['1.2.840.113556.1.4.221', 0x0009_00dd, 'sAMAccountName'],
    ['1.2.840.113556.1.4.90', 0x0009_005a, 'unicodePwd'],
    ['1.2.840.113556.1.4.94', 0x0009_005e, 'ntPwdHistory'],
    ['1.2.840.113556.1.4.125', 0x0009_007d, 'supplementalCredentials'],
    ['1.2.840.113556.1.4.146', 0x0009_0092, 'objectSid'],
    ['1.2.840.113556.1.4.656', 0x0009_0290, 'userPrincipalName'],
    ['1.2.840.113556.1.5.7000.47', 0x0017_002f, 'nTDSDSA (prefix 1.2.840.113556.1.5.7000)'],
    ['0.9.2342.19200300.100.1.1', 0x0015_0001, 'uid'],
  ];

  for (const [oid, attid, what] of KNOWN) {
    it(`${what}: ${oid} is 0x${attid.toString(16).padStart(8, '0')}`, () => {
      const table = PrefixTable.withDefaults();
      assert.equal(table.makeAttid(oid), attid);
      assert.equal(table.added.length, 0, 'a default prefix adds no entry');
      assert.equal(table.oidFromAttid(attid), oid);
    });
  }

  it('holds the 19 default prefixes at their indexes', () => {
    assert.equal(DEFAULT_PREFIX_ENTRIES.length, 19);
    assert.equal(PrefixTable.withDefaults().entry(9)?.prefix.toString('hex'), '2a864886f7140104');
    assert.equal(PrefixTable.withDefaults().entry(0x17)?.prefix.toString('hex'), '2a864886f7140105b658');
    assert.equal(PrefixTable.withDefaults().entry(0x0b), undefined);
  });

  it('adds a new prefix after the highest index, and maps back through it', () => {
    const table = PrefixTable.withDefaults();
    // 1.3.6.1.4.1.7165.4.1 is no default prefix (Samba's own attributes).
    const attid = table.makeAttid('1.3.6.1.4.1.7165.4.1.14');
    assert.equal(attid, 0x001b_000e);
    assert.deepEqual(table.added.map((e) => [e.ndx, e.prefix.toString('hex')]), [[0x1b, '2b06010401b77d0401']]);
    // The same prefix again reuses the entry.
    assert.equal(table.makeAttid('1.3.6.1.4.1.7165.4.1.2'), 0x001b_0002);
    assert.equal(table.added.length, 1);
    assert.equal(table.oidFromAttid(0x001b_000e), '1.3.6.1.4.1.7165.4.1.14');
    assert.equal(table.attidOf('1.3.6.1.4.1.7165.4.1.14'), 0x001b_000e);
    assert.equal(PrefixTable.withDefaults().attidOf('1.3.6.1.4.1.7165.4.1.14'), undefined);
  });

  it('a last arc of 16384 or more keeps its high bits in the prefix and sets bit 15', () => {
    const table = PrefixTable.withDefaults();
    // 1.2.840.113556.1.4.16385: the arc is 0x81 0x80 0x01; the prefix keeps 0x81, the ATTRTYP 0x8001.
    const attid = table.makeAttid('1.2.840.113556.1.4.16385');
    assert.equal(table.added[0]?.prefix.toString('hex'), '2a864886f714010481');
    assert.equal(attid & 0xffff, 0x8001);
    assert.equal(table.oidFromAttid(attid), '1.2.840.113556.1.4.16385');
    // And 2^21 + 5 (four BER bytes: the prefix keeps two of them).
    const big = table.makeAttid('1.2.840.113556.1.4.2097157');
    assert.equal(table.oidFromAttid(big), '1.2.840.113556.1.4.2097157');
  });

  it('round-trips impacket\'s MakeAttid examples', () => {
    const table = new PrefixTable([]);
    for (const oid of ['1.2.840.113556.1.4.94', '2.5.6.2', '1.2.840.113556.1.2.1', '1.2.840.113556.1.3.223', '1.2.840.113556.1.5.7000.53']) {
      assert.equal(table.oidFromAttid(table.makeAttid(oid)), oid);
    }
    // From an empty table the indexes are 0, 1, 2... (impacket's and ruby_smb's numbering).
    assert.deepEqual(table.added.map((e) => e.ndx), [0, 1, 2, 3, 4]);
  });

  it('has no OID for an msDS-IntId ATTRTYP or an unknown index', () => {
    const table = PrefixTable.withDefaults();
    assert.equal(table.oidFromAttid(0x8000_1234), undefined);
    assert.equal(table.oidFromAttid(0x0b00_0001), undefined);
    assert.equal(table.oidFromAttid(-1), undefined);
  });

  it('a table built from a reply keeps the first entry of an index', () => {
    const table = new PrefixTable([{ ndx: 9, prefix: berFromOid('1.2.840.113556.1.4') }, { ndx: 9, prefix: Buffer.from('55', 'hex') }]);
    assert.equal(table.oidFromAttid(0x0009_00dd), '1.2.840.113556.1.4.221');
  });
});

describe('MakeAttid and OidFromAttid are inverse', () => {
  it('for any OID of three or more arcs', () => {
    const oid = fc
      .tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 39 }), fc.array(fc.integer({ min: 0, max: 2 ** 31 }), { minLength: 1, maxLength: 8 }))
      .map(([a, b, rest]) => [a, b, ...rest].join('.'));
    fc.assert(
      fc.property(fc.array(oid, { minLength: 1, maxLength: 20 }), (oids) => {
        const table = PrefixTable.withDefaults();
        const attids = oids.map((o) => table.makeAttid(o));
        oids.forEach((o, i) => assert.equal(table.oidFromAttid(attids[i]!), o));
        // A table rebuilt from what a peer would send maps them the same.
        const peer = new PrefixTable([...DEFAULT_PREFIX_ENTRIES, ...table.added]);
        oids.forEach((o, i) => assert.equal(peer.oidFromAttid(attids[i]!), o));
      }),
      { numRuns: 300 },
    );
  });
});
