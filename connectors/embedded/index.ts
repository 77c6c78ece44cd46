/** The embedded log: topics without a Kafka broker (DESIGN §2.7). See log.ts for the design. */
export { EmbeddedLog } from './log.js';
export type { EmbeddedLogOptions, KvWrite, LogAppend, LogCommit, OffsetCommit, TopicInfo } from './log.js';
export { murmur2, partitionOfKey } from './partitioner.js';
