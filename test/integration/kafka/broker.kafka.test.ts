// Proves the broker that scripts/kafka/start.sh runs works with kafkajs: idempotent
// produce, consumer groups, and transactions (commit, abort, read_committed).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TEST_RETRY, kafkaAvailable, testKafka, uniqueName } from './helpers.js';
import { Partitioners } from 'kafkajs';
import type { Kafka } from 'kafkajs';

interface Received {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
}

/** Reads `topic` from the beginning with a fresh consumer group until `done(received)` holds. */
async function consumeUntil(kafka: Kafka, topic: string, done: (got: Received[]) => boolean, opts: { readUncommitted?: boolean; timeoutMs?: number } = {}): Promise<Received[]> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const consumer = kafka.consumer({ groupId: uniqueName('test-group'), readUncommitted: opts.readUncommitted ?? false, maxWaitTimeInMs: 100, sessionTimeout: 10_000, heartbeatInterval: 1000, retry: TEST_RETRY });
  const got: Received[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`consumer of ${topic} timed out after ${timeoutMs} ms with ${got.length} messages`)), timeoutMs);
      consumer.on(consumer.events.CRASH, (e) => {
        clearTimeout(timer);
        reject(e.payload.error);
      });
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            got.push({ partition, offset: Number(message.offset), key: message.key?.toString() ?? null, value: message.value?.toString() ?? null });
            if (done(got)) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch((err: unknown) => {
          clearTimeout(timer);
          reject(err instanceof Error ? err : new Error(String(err)));
        });
    });
    return got;
  } finally {
    await consumer.disconnect();
  }
}

describe('Apache Kafka broker (scripts/kafka/start.sh) with kafkajs', () => {
  test('idempotent producer → consumer group: 100 keyed messages over 2 partitions', { timeout: 60_000 }, async (t) => {
    if (!(await kafkaAvailable(t))) return;
    const kafka = testKafka();
    const admin = kafka.admin();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    const topic = uniqueName('test-topic');
    await admin.connect();
    try {
      assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true }), true);
      await producer.connect();
      const expected = new Map<string, string>();
      for (let b = 0; b < 10; b++) {
        const messages = Array.from({ length: 10 }, (_, j) => ({ key: `key-${b * 10 + j}`, value: JSON.stringify({ i: b * 10 + j }) }));
        for (const m of messages) expected.set(m.key, m.value);
        const acks = await producer.send({ topic, messages });
        assert.ok(acks.every((a) => a.errorCode === 0));
      }

      const got = await consumeUntil(kafka, topic, (g) => g.length >= 100);
      assert.equal(got.length, 100);
      assert.deepEqual(new Map(got.map((m) => [m.key ?? '', m.value ?? ''])), expected, 'every key arrives once with its value');
      assert.deepEqual([...new Set(got.map((m) => m.partition))].sort(), [0, 1], 'keys are spread over both partitions');
      for (const p of [0, 1]) {
        const inP = got.filter((m) => m.partition === p).map((m) => JSON.parse(m.value ?? '{}') as { i: number });
        assert.deepEqual(inP, [...inP].sort((a, b) => a.i - b.i), `partition ${p} keeps produce order`);
      }
      // Idempotence: exactly 100 records in the log, no duplicates from retries.
      const offsets = await admin.fetchTopicOffsets(topic);
      assert.equal(offsets.reduce((sum, o) => sum + Number(o.high), 0), 100);
    } finally {
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect();
    }
  });

  test('transactions: a read_committed consumer sees committed records and never aborted ones', { timeout: 60_000 }, async (t) => {
    if (!(await kafkaAvailable(t))) return;
    const kafka = testKafka();
    const admin = kafka.admin();
    const producer = kafka.producer({ transactionalId: uniqueName('test-tx'), idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    const topic = uniqueName('test-topic');
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true });
      await producer.connect();
      const batch = (prefix: string) => Array.from({ length: 10 }, (_, i) => ({ key: `${prefix}-${i}`, value: `${prefix}-${i}`, partition: i % 2 }));

      const committed = await producer.transaction();
      await committed.send({ topic, messages: batch('committed') });
      await committed.commit();

      const aborted = await producer.transaction();
      await aborted.send({ topic, messages: batch('aborted') });
      await aborted.abort();

      // A last committed record on each partition: once a consumer has it, it has read past the aborted ones.
      const end = await producer.transaction();
      await end.send({ topic, messages: [0, 1].map((partition) => ({ key: `end-${partition}`, value: `end-${partition}`, partition })) });
      await end.commit();

      const sawBothEnds = (g: Received[]) => g.filter((m) => m.value?.startsWith('end-')).length === 2;
      const readCommitted = await consumeUntil(kafka, topic, sawBothEnds);
      const values = readCommitted.map((m) => m.value ?? '').sort();
      assert.deepEqual(values, [...batch('committed').map((m) => m.value), 'end-0', 'end-1'].sort());
      assert.ok(!values.some((v) => v.startsWith('aborted')), 'read_committed must not see aborted records');

      // The aborted records were written to the log: a read_uncommitted consumer sees them.
      const readUncommitted = await consumeUntil(kafka, topic, sawBothEnds, { readUncommitted: true });
      assert.equal(readUncommitted.filter((m) => m.value?.startsWith('aborted')).length, 10);
      assert.equal(readUncommitted.filter((m) => m.value?.startsWith('committed')).length, 10);
    } finally {
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect();
    }
  });
});
