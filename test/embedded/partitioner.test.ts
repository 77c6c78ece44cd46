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

test('partitionFor is stable, spreads keys, and round-robins null keys', () =>
  withLog(async (log) => {
    await log.createTopic('t', 8);
    const counts = new Array<number>(8).fill(0);
    for (let i = 0; i < 8000; i++) {
      const p = log.partitionFor('t', `user-${i}`);
      assert.equal(p, partitionOfKey(`user-${i}`, 8));
      counts[p]!++;
    }
    for (const c of counts) assert.ok(c > 800 && c < 1200, `uneven spread: ${counts.join(',')}`);
    assert.equal(log.partitionFor('t', 'same'), log.partitionFor('t', 'same'));
    const rr = Array.from({ length: 8 }, () => log.partitionFor('t', null)).sort();
    assert.deepEqual(rr, [0, 1, 2, 3, 4, 5, 6, 7]);
  }));
