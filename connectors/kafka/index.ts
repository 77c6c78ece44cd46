/** The Kafka connector: kafkajs behind sluice's source and sink seams (DESIGN §1). Knows bytes and formats, not topologies. */
// First: fixes kafkajs's read_committed filter before kafkajs loads.
export { readCommittedFixed, filterAbortedMessages } from './read-committed-fix.js';
export { partitionGroupingFixed, groupMessagesPerPartition } from './partition-grouping-fix.js';
export { recordEncodingFixed, encodeRecord, kafkajsRecord } from './record-encoding-fix.js';
export { recordDecodingFixed, decodeRecord, kafkajsRecordDecoder } from './record-decoding-fix.js';
export { createKafkaClient, kafkaClientConfig, KAFKA_DEFAULTS } from './config.js';
export type { KafkaConnection } from './config.js';
export { KafkaTopicAdmin, KafkaConnectError, describeConnectFailure } from './admin.js';
export type { PartitionOffsets } from './admin.js';
export { GroupConsumer } from './consumer.js';
export { copartitionedAssigner } from './copartition.js';
export type { FetchedMessage, GroupConsumerOptions, TopicPartition } from './consumer.js';
export { readRanges } from './range-reader.js';
export type { PartitionRange } from './range-reader.js';
export { IdempotentWriter, TransactionalWriter, chunkRecords } from './producer.js';
export type { ConsumedOffsets, OutRecord } from './producer.js';
export { errorText, isAuthFailure, isDenied, isFenced } from './errors.js';
export { ConsumerRecovery } from './recovery.js';
export { KeyHashPartitioner, murmur2 } from './partitioner.js';
