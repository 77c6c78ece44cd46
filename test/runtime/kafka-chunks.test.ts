import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chunkRecords, type OutRecord } from '../../connectors/kafka/index.js';

const rec = (bytes: number): OutRecord => ({ topic: 't', key: 'k', value: 'x'.repeat(bytes) });

test('a checkpoint\'s records are sent in chunks under the broker\'s batch limit, in order, none lost', () => {
  const records = Array.from({ length: 5000 }, (_, i) => ({ ...rec(400), key: String(i) }));
  const chunks = chunkRecords(records, 100_000);
  assert.ok(chunks.length > 1, `expected several chunks, got ${chunks.length}`);
  for (const c of chunks) assert.ok(c.reduce((n, r) => n + (r.value as string).length, 0) <= 100_000);
  assert.deepEqual(chunks.flat().map((r) => r.key), records.map((r) => r.key));
});

test('a record larger than the limit goes alone (the broker judges it); small batches stay one chunk', () => {
  const chunks = chunkRecords([rec(10), rec(200_000), rec(10)], 100_000);
  assert.deepEqual(chunks.map((c) => c.length), [1, 1, 1]);
  assert.equal(chunkRecords([rec(10), rec(10)], 100_000).length, 1);
  assert.deepEqual(chunkRecords([], 100_000), []);
});
