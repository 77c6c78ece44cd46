/** The Kafka connector: kafkajs behind sluice's source and sink seams (DESIGN §1). */
export { createKafkaClient, kafkaClientConfig, KAFKA_DEFAULTS } from './config.js';
export type { KafkaConnection } from './config.js';
