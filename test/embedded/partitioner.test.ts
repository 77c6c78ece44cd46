import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { murmur2, partitionOfKey } from '../../connectors/embedded/index.js';
import { withLog } from './helpers.js';

test('murmur2 matches Kafka (UtilsTest.testMurmur2)', () => {
  const cases: [string, number][] = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ];
  for (const [key, hash] of cases) assert.equal(murmur2(Buffer.from(key)), hash, key);
});

test('partitionOfKey gives the partitions Kafka gives for its own murmur2 test keys', () => {
  // From the hashes in Kafka's UtilsTest (above): toPositive(hash) % n.
  const kafka: [string, number][] = [['21', -973932308], ['foobar', -790332482], ['abc', 479470107], ['a-little-bit-long-string', -985981536]];
  const expected: Record<number, number[]> = {};
  for (const n of [1, 3, 8, 12]) expected[n] = kafka.map(([, h]) => (h & 0x7fffffff) % n);
  for (const n of [1, 3, 8, 12]) assert.deepEqual(kafka.map(([k]) => partitionOfKey(k, n)), expected[n], `${n} partitions`);
  // Worked by hand for 8 partitions: 21 → 1173551340 % 8 = 4, foobar → 1357151166 % 8 = 6, abc → 479470107 % 8 = 3.
  assert.deepEqual(['21', 'foobar', 'abc'].map((k) => partitionOfKey(k, 8)), [4, 6, 3]);
});

test('partitionFor is stable, spreads keys, and round-robins null keys', () =>
  withLog(async (log) => {
    await log.createTopic('t', 8);
    const counts = new Array<number>(8).fill(0);
    for (let i = 0; i < 8000; i++) {
      const key = `user-${i}`;
      const p = log.partitionFor('t', key);
      // Kafka's default partitioner, written out: toPositive(murmur2(key bytes)) % partitions.
      assert.equal(p, (murmur2(Buffer.from(key, 'utf8')) & 0x7fffffff) % 8, key);
      counts[p]!++;
    }
    for (const c of counts) assert.ok(c > 800 && c < 1200, `uneven spread: ${counts.join(',')}`);
    // Stable across calls and topics of the same width.
    await log.createTopic('u', 8);
    for (const key of ['same', 'user-7', '']) assert.equal(log.partitionFor('t', key), log.partitionFor('u', key));
    const rr = Array.from({ length: 8 }, () => log.partitionFor('t', null)).sort();
    assert.deepEqual(rr, [0, 1, 2, 3, 4, 5, 6, 7]);
  }));
