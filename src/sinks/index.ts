export type { Sink } from './sink.js';
export { encodeValue } from './sink.js';
export { Transaction } from './transaction.js';
export { createTopicSink, EMPTY as EMPTY_HEADERS } from './topic.js';
export { createFileSink } from './file.js';
export { createStdoutSink } from './stdout.js';
export { MemorySink } from './memory.js';
export { stageDeadLetters } from './dead-letter.js';
