import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { it } from 'node:test';
import { BUCKETS, BucketSpill, SPILL_RECORD_BYTES, bucketPath } from '../../src/leaked/bucket-spill.ts';
import { tempDir } from '../support/temp-dir.ts';

it('spills records by first byte, and on reopening cuts the buckets back to a checkpoint, or says one lost data', () => {
  using dir = tempDir();
  const hash = (first: number, fill: number): Uint8Array => new Uint8Array(16).fill(fill).fill(first, 0, 1);
  const spill = BucketSpill.open(dir.path)!;
  spill.add(hash(0x00, 1), 1);
  spill.add(hash(0xff, 2), 65_535);
  spill.flush();
  const checkpoint = spill.lengths();
  assert.equal(checkpoint.length, BUCKETS);
  assert.deepEqual([checkpoint[0], checkpoint[0xff], checkpoint[1]], [SPILL_RECORD_BYTES, SPILL_RECORD_BYTES, 0]);
  // Written after the checkpoint, then the process dies: a resume drops it.
  spill.add(hash(0x00, 3), 7);
  spill.add(hash(0x01, 4), 8);
  spill.flush();
  spill.close();
  assert.equal(statSync(bucketPath(dir.path, 0)).size, 2 * SPILL_RECORD_BYTES);
  assert.equal(statSync(bucketPath(dir.path, 0)).mode & 0o777, 0o600);

  const resumed = BucketSpill.open(dir.path, checkpoint)!;
  assert.equal(resumed.records, 2);
  resumed.close();
  assert.equal(statSync(bucketPath(dir.path, 0)).size, SPILL_RECORD_BYTES);
  assert.equal(statSync(bucketPath(dir.path, 1)).size, 0);
  assert.deepEqual([...readFileSync(bucketPath(dir.path, 0xff))], [0xff, ...new Array<number>(15).fill(2), 0xff, 0xff]);

  // A bucket shorter than its checkpoint lost data the checkpoint counted (a power loss): undefined.
  const longer = [...checkpoint];
  longer[0x80] = SPILL_RECORD_BYTES;
  assert.equal(BucketSpill.open(dir.path, longer), undefined);
});
