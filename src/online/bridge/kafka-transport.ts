import { Partitioners, type Consumer, type Producer } from 'kafkajs';
import { KafkaTopicAdmin, createKafkaClient, type KafkaConnection } from '../../../connectors/kafka/index.js';
import type { BridgeMessage, BridgeTransport, Subscription } from './transport.js';

/**
 * The bridge on Kafka, across processes: a plain producer (acks from the leader: a lost
 * request is answered 504 at its deadline anyway) and one consumer group per subscription,
 * reading from the latest offset when the group is new. `ready` resolves once the
 * subscription's group has its partitions, so nothing sent after it is missed.
 */
export async function kafkaTransport(conn: KafkaConnection, clientId = `${conn.clientId}-bridge`): Promise<BridgeTransport> {
  const kafka = createKafkaClient(conn, clientId);
  const admin = new KafkaTopicAdmin(kafka, conn);
  await admin.connect();
  // Kafka's own partitioner (murmur2 of the key), the one the embedded log copies.
  const producer: Producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  const consumers = new Set<Consumer>();
  return {
    async ensureTopic(topic, partitions) {
      await admin.ensureTopic(topic, { partitions, what: 'bridge topic' });
    },
    partitionCount: (topic) => admin.partitionCount(topic),
    async send(topic, messages) {
      await producer.send({ topic, acks: 1, messages: messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers })) });
    },
    async subscribe(topic, group, handler): Promise<Subscription> {
      const consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: 20, sessionTimeout: 10_000, heartbeatInterval: 1000, retry: { retries: 5 } });
      consumers.add(consumer);
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: false });
      const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
      await consumer.run({
        eachBatchAutoResolve: true,
        eachBatch: async ({ batch }) => {
          const msgs: BridgeMessage[] = batch.messages.map((m) => ({
            key: m.key ? m.key.toString('utf8') : null,
            value: m.value ? m.value.toString('utf8') : 'null',
            headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('utf8') : String(v)])),
          }));
          await handler(msgs);
        },
      });
      await joined;
      return {
        async close() {
          consumers.delete(consumer);
          await consumer.disconnect();
        },
      };
    },
    async close() {
      await Promise.all([...consumers].map((c) => c.disconnect()));
      consumers.clear();
      await producer.disconnect();
      await admin.disconnect();
    },
  };
}
