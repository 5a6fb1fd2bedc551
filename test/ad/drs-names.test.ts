import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DS_FQDN_1779_NAME, DS_NAME_ERROR_NOT_FOUND, DS_NT4_ACCOUNT_NAME, decodeCrackNamesReply, encodeCrackNamesRequest } from '../../src/ad/drs/drs-crack-names.ts';
import { decodeDcInfoReply, encodeDcInfoRequest } from '../../src/ad/drs/drs-dc-info.ts';
import { DrsError } from '../../src/ad/drs/drs-errors.ts';
import { NdrWriter } from '../../src/ad/ndr/ndr-writer.ts';
import { FatalError } from '../../src/errors.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
/** Hex rows, each with what it is: a stub worked out by hand. */
const layout = (...rows: ReadonlyArray<readonly [string, string]>): Buffer => Buffer.concat(rows.map(([h]) => hex(h)));
const utf16 = (s: string): string => Buffer.from(s, 'utf16le').toString('hex');
const HANDLE = Buffer.alloc(20, 0x11);

describe('IDL_DRSDomainControllerInfo', () => {
  it('encodes the request (worked by hand)', () => {
    const expected = layout(
      ['11'.repeat(20), 'hDrs'],
      ['01000000', 'dwInVersion'],
      ['01000000', 'DRS_MSG_DCINFOREQ discriminant'],
      ['00000200', 'V1.Domain: referent ID'],
      ['02000000', 'V1.InfoLevel'],
      ['05000000 00000000 05000000', 'Domain (deferred): max count, offset, actual count'],
      [utf16('TEST\0'), 'the characters with their NUL'],
    );
    assert.equal(encodeDcInfoRequest(HANDLE, 'TEST').toString('hex'), expected.toString('hex'));
  });

  /** Two DS_DOMAIN_CONTROLLER_INFO_2W, the second without a site object name. */
  function reply(): Buffer {
    const w = new NdrWriter(1 << 16); // sized up front: NdrWriter cannot grow mid-write
    w.u32(2).u32(2); // pdwOutVersion, discriminant
    w.u32(2); // V2.cItems
    w.pointer(true); // V2.rItems
    w.u32(2); // conformance
    const dcs = [
      { strings: ['DC1', 'dc1.test.example', 'Default-First-Site-Name', 'CN=Default-First-Site-Name,CN=Sites,CN=Configuration,DC=test,DC=example', 'CN=DC1,OU=Domain Controllers,DC=test,DC=example', 'CN=DC1,CN=Servers,...', 'CN=NTDS Settings,CN=DC1,...'], pdc: 1, gc: 1, fill: 0xa0 },
      { strings: ['DC2', 'dc2.test.example', 'Default-First-Site-Name', null, 'CN=DC2,...', 'CN=DC2,CN=Servers,...', 'CN=NTDS Settings,CN=DC2,...'], pdc: 0, gc: 0, fill: 0xb0 },
    ];
    for (const dc of dcs) {
      for (const s of dc.strings) w.pointer(s !== null); // seven [string] pointers
      w.u32(dc.pdc).u32(1).u32(dc.gc); // fIsPdc, fDsEnabled, fIsGc
      for (let g = 0; g < 4; g++) w.guid(Buffer.alloc(16, dc.fill + g)); // Site, Computer, Server, NtdsDsa object GUIDs
    }
    // The strings, element by element, each element's in member order.
    for (const dc of dcs) for (const s of dc.strings) if (s !== null) w.wideString(s);
    w.u32(0); // result
    return w.finish();
  }

  it('decodes each DC, the NTDS DSA GUID among them', () => {
    const dcs = decodeDcInfoReply(reply());
    assert.equal(dcs.length, 2);
    assert.equal(dcs[0]!.dnsHostName, 'dc1.test.example');
    assert.equal(dcs[0]!.netbiosName, 'DC1');
    assert.equal(dcs[0]!.ntdsDsaObjectName, 'CN=NTDS Settings,CN=DC1,...');
    assert.equal(dcs[0]!.isPdc, true);
    assert.equal(dcs[0]!.isGc, true);
    assert.deepEqual(dcs[0]!.siteObjectGuid, Buffer.alloc(16, 0xa0));
    assert.deepEqual(dcs[0]!.ntdsDsaObjectGuid, Buffer.alloc(16, 0xa3));
    assert.equal(dcs[1]!.siteObjectName, '');
    assert.equal(dcs[1]!.computerObjectName, 'CN=DC2,...');
    assert.equal(dcs[1]!.isPdc, false);
    assert.deepEqual(dcs[1]!.ntdsDsaObjectGuid, Buffer.alloc(16, 0xb3));
  });

  it('refuses an InfoLevel it did not ask for, and a count the array contradicts', () => {
    const level1 = reply();
    level1.writeUInt32LE(1, 0);
    level1.writeUInt32LE(1, 4);
    assert.throws(() => decodeDcInfoReply(level1), (err: unknown) => err instanceof FatalError && err.code === 'DRS_UNSUPPORTED_REPLY');
    const bad = reply();
    bad.writeUInt32LE(3, 8);
    assert.throws(() => decodeDcInfoReply(bad), (err: unknown) => err instanceof FatalError && err.code === 'DRS_MALFORMED_REPLY');
  });

  it('an unknown level from a failed call reports the call\'s result', () => {
    const failed = layout(['00000000', 'pdwOutVersion (unset)'], ['00000000', 'discriminant'], ['4b050000', 'result: ERROR_NO_SUCH_DOMAIN (1355)']);
    assert.throws(() => decodeDcInfoReply(failed), (err: unknown) => err instanceof DrsError && err.win32 === 1355 && /ERROR_NO_SUCH_DOMAIN/.test(err.message));
  });
});

describe('IDL_DRSCrackNames', () => {
  it('encodes the request (worked by hand)', () => {
    const expected = layout(
      ['11'.repeat(20), 'hDrs'],
      ['01000000', 'dwInVersion'],
      ['01000000', 'DRS_MSG_CRACKREQ discriminant'],
      ['00000000', 'CodePage'],
      ['00000000', 'LocaleId'],
      ['00000000', 'dwFlags'],
      ['02000000', 'formatOffered: DS_NT4_ACCOUNT_NAME'],
      ['01000000', 'formatDesired: DS_FQDN_1779_NAME'],
      ['01000000', 'cNames'],
      ['00000200', 'rpNames: referent ID'],
      ['01000000', 'rpNames (deferred): conformance'],
      ['04000200', 'rpNames[0]: referent ID'],
      ['06000000 00000000 06000000', 'rpNames[0] (deferred after the array): max, offset, actual'],
      [utf16('TEST\\\0'), "'TEST\\' and its NUL"],
    );
    assert.equal(encodeCrackNamesRequest(HANDLE, ['TEST\\'], DS_NT4_ACCOUNT_NAME, DS_FQDN_1779_NAME).toString('hex'), expected.toString('hex'));
  });

  it('decodes each name\'s status, domain and result', () => {
    const w = new NdrWriter(1 << 16); // sized up front: NdrWriter cannot grow mid-write
    w.u32(1).u32(1); // pdwOutVersion, discriminant
    w.pointer(true); // V1.pResult
    w.u32(2); // DS_NAME_RESULTW.cItems
    w.pointer(true); // rItems
    w.u32(2); // conformance
    w.u32(0);
    w.pointer(true);
    w.pointer(true); // item 0: status, pDomain, pName
    w.u32(DS_NAME_ERROR_NOT_FOUND);
    w.pointer(false);
    w.pointer(false); // item 1: not found, no strings
    w.wideString('test.example');
    w.wideString('DC=test,DC=example');
    w.u32(0);
    assert.deepEqual(decodeCrackNamesReply(w.finish()), [
      { status: 0, domain: 'test.example', name: 'DC=test,DC=example' },
      { status: DS_NAME_ERROR_NOT_FOUND, domain: '', name: '' },
    ]);
  });

  it('a reply without a result has no names; with a failed result it is that error', () => {
    const empty = layout(['01000000', 'pdwOutVersion'], ['01000000', 'discriminant'], ['00000000', 'pResult NULL'], ['00000000', 'result']);
    assert.deepEqual(decodeCrackNamesReply(empty), []);
    const failed = layout(['01000000', 'pdwOutVersion'], ['01000000', 'discriminant'], ['00000000', 'pResult NULL'], ['05000000', 'result: ERROR_ACCESS_DENIED']);
    assert.throws(() => decodeCrackNamesReply(failed), (err: unknown) => err instanceof DrsError && err.win32 === 5);
  });
});
