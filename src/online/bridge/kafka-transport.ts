import { Partitioners, type Consumer, type EachBatchPayload, type Message, type Producer } from 'kafkajs';
import { ConsumerRecovery, KafkaTopicAdmin, createKafkaClient, errorText, type KafkaConnection } from '../../../connectors/kafka/index.js';
import type { Logger } from '../../core/logger.js';
import type { BridgeMessage, BridgeTransport, Subscription } from './transport.js';

/**
 * The bridge on Kafka, across processes: a plain producer (acks from the leader: a lost
 * request is answered 504 at its deadline anyway) and one consumer group per subscription,
 * reading from the latest offset when the group is new. `ready` resolves once the
 * subscription's group has its partitions, so nothing sent after it is missed.
 */
export async function kafkaTransport(conn: KafkaConnection, clientId = `${conn.clientId}-bridge`, logger?: Logger): Promise<BridgeTransport> {
  const kafka = createKafkaClient(conn, clientId);
  const admin = new KafkaTopicAdmin(kafka, conn);
  await admin.connect();
  // Kafka's own partitioner (murmur2 of the key), the one the embedded log copies.
  const producer: Producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  const consumers = new Set<Consumer>();
  // One produce request in flight at a time; what is sent meanwhile goes out together in the
  // next. A produce per HTTP request (1,000 a second) queued on the broker, which handles one
  // request per connection at a time: at 1,000 req/s the request hop's p50 was ~27 ms.
  // Messages leave in the order send() was called, so a key's requests stay in order.
  let queued: { topic: string; messages: Message[]; done: { resolve(): void; reject(e: unknown): void } }[] = [];
  let flushing = false;
  const flush = async (): Promise<void> => {
    flushing = true;
    while (queued.length) {
      const batch = queued;
      queued = [];
      const byTopic = new Map<string, Message[]>();
      for (const q of batch) {
        const list = byTopic.get(q.topic);
        if (list) list.push(...q.messages);
        else byTopic.set(q.topic, [...q.messages]);
      }
      try {
        await producer.sendBatch({ acks: 1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
        for (const q of batch) q.done.resolve();
      } catch (err) {
        for (const q of batch) q.done.reject(err);
      }
    }
    flushing = false;
  };
  return {
    async ensureTopic(topic, partitions) {
      await admin.ensureTopic(topic, { partitions, what: 'bridge topic' });
    },
    partitionCount: (topic) => admin.partitionCount(topic),
    send(topic, messages) {
      return new Promise<void>((resolve, reject) => {
        queued.push({ topic, messages: messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers })), done: { resolve, reject } });
        if (!flushing) void flush();
      });
    },
    async subscribe(topic, group, handler): Promise<Subscription> {
      let closed = false;
      let consumer: Consumer | undefined;
      const eachBatch = async ({ batch }: EachBatchPayload) => {
        const msgs: BridgeMessage[] = batch.messages.map((m) => ({
          key: m.key ? m.key.toString('utf8') : null,
          value: m.value ? m.value.toString('utf8') : 'null',
          headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('utf8') : String(v)])),
        }));
        await handler(msgs);
      };
      // A bridge must outlive a broker restart, or every request after it would wait out its
      // deadline: it retries for as long as it runs (the job's consumers give up after 10
      // crashes in a row), with the connection's retry times, at most 10 s apart.
      const recovery = new ConsumerRecovery({
        maxFailures: Infinity,
        initialMs: conn.retry.initialRetryTimeMs,
        maxMs: Math.min(conn.retry.maxRetryTimeMs, 10_000),
        stopped: () => closed,
        onCrash: (err, recovering) =>
          recovering
            ? logger?.warn(`bridge consumer of "${topic}" (group "${group}") stopped (${errorText(err)}); a new one joins after a backoff`)
            : logger?.error(`bridge consumer of "${topic}" (group "${group}") stopped for good: ${errorText(err)}`),
        swap: () => start(),
      });
      const start = async (): Promise<void> => {
        const c = kafka.consumer({ groupId: group, maxWaitTimeInMs: 20, sessionTimeout: 10_000, heartbeatInterval: 1000, retry: { retries: 5 } });
        consumer = c;
        consumers.add(c);
        let hasJoined = false;
        let joinFailed: (err: Error) => void = () => {};
        const joined = new Promise<number[]>((resolve, reject) => {
          c.on(c.events.GROUP_JOIN, (e) => {
            hasJoined = true;
            resolve(e.payload.memberAssignment[topic] ?? []);
          });
          joinFailed = reject;
        });
        c.on(c.events.FETCH, () => recovery.fetched());
        c.on(c.events.CRASH, (e) => {
          if (e.payload.restart) return;
          consumers.delete(c);
          // Before its first join, the caller of start() hears of it (a swap that failed, or the subscription's first start).
          if (!hasJoined) joinFailed(e.payload.error);
          else recovery.crashed(e.payload.error);
        });
        try {
          await c.connect();
          await c.subscribe({ topic, fromBeginning: false });
          await c.run({ eachBatchAutoResolve: true, eachBatch });
          const mine = await joined;
          // A new group would start at the log end as of its first fetch, which can come after
          // messages sent once subscribe() returned (a reply to the first request, lost): pin it
          // to the end as of subscribing instead. Groups with committed offsets resume from them.
          for (const p of startAt ?? []) if (mine.includes(p.partition)) c.seek({ topic, partition: p.partition, offset: String(p.offset) });
          startAt = undefined;
        } catch (err) {
          consumers.delete(c);
          await c.disconnect().catch(() => {});
          throw err;
        }
      };
      const committed = await admin.committed(group, topic);
      let startAt: { partition: number; offset: number }[] | undefined = (await admin.offsets(topic)).filter((o) => !committed.has(o.partition)).map((o) => ({ partition: o.partition, offset: o.high }));
      await start();
      return {
        async close() {
          closed = true;
          if (consumer) consumers.delete(consumer);
          await consumer?.disconnect();
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
