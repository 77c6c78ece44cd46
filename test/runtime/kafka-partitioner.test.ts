import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Partitioners } from 'kafkajs';
import { KeyHashPartitioner, murmur2 } from '../../connectors/kafka/index.js';

const require = createRequire(import.meta.url);
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2') as (key: unknown) => number;

const keys: (string | Buffer)[] = ['', 'a', 'ab', 'abc', 'abcd', 'u42', 'user-000123', 'ключ-✓', '🚀🚀x', Buffer.from([0, 255, 128, 7, 9]), Buffer.alloc(0)];
for (let i = 0; i < 300; i++) keys.push(`k${i * 7919}-${'z'.repeat(i % 13)}`);

test('murmur2 in 32-bit arithmetic equals kafkajs\'s (the Java client\'s) murmur2', () => {
  for (const k of keys) assert.equal(murmur2(Buffer.isBuffer(k) ? k : Buffer.from(k, 'utf8')), kafkajsMurmur2(k), `key ${String(k)}`);
  // Two known values of the Java client (Utils.murmur2 of "21" and "foobar").
  assert.equal(murmur2(Buffer.from('21')), -973932308);
  assert.equal(murmur2(Buffer.from('foobar')), -790332482);
});

test('the key-hash partitioner picks the partitions kafkajs\'s DefaultPartitioner picks', () => {
  const mine = KeyHashPartitioner();
  const theirs = Partitioners.DefaultPartitioner();
  for (const n of [1, 2, 3, 6, 7]) {
    const partitionMetadata = Array.from({ length: n }, (_, i) => ({ partitionId: i, leader: 1, partitionErrorCode: 0, replicas: [1], isr: [1] }));
    for (let rep = 0; rep < 2; rep++) {
      // the second round hits the cache
      for (const key of keys) {
        const args = { topic: 't', partitionMetadata, message: { key, value: 'v' } };
        assert.equal(mine(args), theirs(args), `key ${String(key)} over ${n} partitions`);
      }
    }
    assert.equal(mine({ topic: 't', partitionMetadata, message: { key: 'k', value: 'v', partition: n - 1 } }), n - 1);
    const keyless = mine({ topic: 't', partitionMetadata, message: { key: null, value: 'v' } });
    assert.ok(keyless >= 0 && keyless < n);
  }
});
