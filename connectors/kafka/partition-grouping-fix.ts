import { createRequire } from 'node:module';

/**
 * kafkajs 2.2.4 groups a send's messages by partition with `[...current, message]` per message
 * (src/producer/groupMessagesPerPartition.js): quadratic in the messages per partition, and 12%
 * of a sluice Kafka job's main thread at 3,000 records per send. This replaces it with a linear
 * version that returns the same thing (partition → its messages, in order). Like
 * read-committed-fix.ts it must run before kafkajs loads its producer.
 */
interface Args {
  topic: string;
  partitionMetadata: unknown[];
  messages: unknown[];
  partitioner: (a: { topic: string; partitionMetadata: unknown[]; message: unknown }) => number;
}

export function groupMessagesPerPartition({ topic, partitionMetadata, messages, partitioner }: Args): Record<number, unknown[]> {
  const result: Record<number, unknown[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    (result[partition] ??= []).push(message);
  }
  return result;
}

const require = createRequire(import.meta.url);
const groupPath = require.resolve('kafkajs/src/producer/groupMessagesPerPartition');
const sendPath = groupPath.replace(/groupMessagesPerPartition\.js$/, 'sendMessages.js');

/** True when kafkajs's producer uses the linear grouping. */
export let partitionGroupingFixed = false;

if (!require.cache[sendPath]) {
  require(groupPath);
  const cached = require.cache[groupPath];
  if (cached) {
    cached.exports = groupMessagesPerPartition;
    partitionGroupingFixed = true;
  }
}
