import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { groupMessagesPerPartition, partitionGroupingFixed } from '../../connectors/kafka/index.js';

test('the linear per-partition grouping gives what kafkajs\'s own gives, and kafkajs uses it', () => {
  const require = createRequire(import.meta.url);
  // kafkajs's original: loaded afresh past the module cache (which holds the replacement), then the cache is put back.
  const path = require.resolve('kafkajs/src/producer/groupMessagesPerPartition');
  const installed = require.cache[path];
  delete require.cache[path];
  const original = require(path) as typeof groupMessagesPerPartition;
  require.cache[path] = installed;
  const partitionMetadata = [{ partitionId: 0 }, { partitionId: 1 }, { partitionId: 2 }];
  const messages = Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: String(i), partition: (i * 7) % 3 }));
  const partitioner = ({ message }: { message: unknown }) => (message as { partition: number }).partition;
  const args = { topic: 't', partitionMetadata, messages, partitioner };
  assert.deepEqual(groupMessagesPerPartition(args), original(args));
  assert.deepEqual(groupMessagesPerPartition({ ...args, partitionMetadata: [] }), {});
  assert.equal(partitionGroupingFixed, true, 'installed before kafkajs loaded its producer');
  assert.equal(require('kafkajs/src/producer/groupMessagesPerPartition'), groupMessagesPerPartition);
});
