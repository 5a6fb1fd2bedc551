import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatCursor, parseCursor } from '../../src/ad/replication-cursor.ts';
import { ridOfSid, sidText } from '../../src/ad/sid.ts';

describe('the replication cursor kept as a watermark', () => {
  const cursor = {
    invocationId: Buffer.from('00112233445566778899aabbccddeeff', 'hex'),
    from: { highObjUpdate: 12_345n, reserved: 0n, highPropUpdate: 0xffff_ffff_ffffn },
    upToDate: [{ invocationId: Buffer.from('ffeeddccbbaa99887766554433221100', 'hex'), highestUsn: 9_007_199_254_740_993n }],
  };

  it('round-trips USNs past 2^53 exactly', () => {
    assert.deepEqual(parseCursor(formatCursor(cursor)), cursor);
  });

  it('reads anything else as no cursor, so the cycle replicates from the start', () => {
    for (const text of ['', 'not json', '{}', '{"v":2}', formatCursor(cursor).replace('12345', '-1'), formatCursor(cursor).replace('0011', 'zz11')]) {
      assert.equal(parseCursor(text), undefined, text);
    }
  });
});

describe('SIDs', () => {
  it('take the RID from the last sub-authority', () => {
    // S-1-5-21-1004336348-1177238915-682003330-1107
    const sid = Buffer.from('010500000000000515000000dcf4dc3b833d2b46828ba62853040000', 'hex');
    assert.equal(sidText(sid), 'S-1-5-21-1004336348-1177238915-682003330-1107');
    assert.equal(ridOfSid(sid), 1107);
  });

  it('refuse a SID whose count runs past its bytes, by a named per-user error', () => {
    assert.throws(() => ridOfSid(Buffer.from('0105000000000005150000', 'hex')), { code: 'DRS_SID_INVALID' });
  });
});
