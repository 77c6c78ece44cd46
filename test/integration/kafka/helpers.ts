// Shared by the Kafka integration tests (test/integration/kafka/*.kafka.test.ts): the broker
// address, a kafkajs client with fast retries, unique names, and the reachable/skip/fail rule.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
// The connector first: it fixes kafkajs's read_committed filter before kafkajs loads.
import { readRanges, type KafkaConnection } from '../../../connectors/kafka/index.js';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import type { KafkaMessage, Message, RetryOptions } from 'kafkajs';
import type { ResolvedConnection } from '../../../src/runtime/connection.js';

/** The broker under test: `KAFKA_BROKERS` (comma-separated), default the one scripts/kafka/start.sh runs. */
export const KAFKA_BROKERS: string[] = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092')
  .split(',')
  .map((b) => b.trim())
  .filter(Boolean);

/** Faster than kafkajs's defaults (300 ms initial, 5 retries up to 30 s), so a broken test fails quickly. */
export const TEST_RETRY: RetryOptions = { initialRetryTime: 100, maxRetryTime: 1000, retries: 8 };

/**
 * kafkajs's own log, off by default: it logs retriable broker answers (coordinator not yet
 * available, concurrent transactions) as errors while the test passes. `KAFKAJS_LOG_LEVEL=DEBUG`
 * (or ERROR, WARN, INFO) turns it on when a test needs looking into.
 */
const LOG_LEVEL = logLevel[(process.env.KAFKAJS_LOG_LEVEL ?? 'NOTHING').toUpperCase() as keyof typeof logLevel] ?? logLevel.NOTHING;

/**
 * A client for the broker under test with TEST_RETRY. Producers and consumers inherit its retry
 * timing; idempotent producers keep kafkajs's unlimited retry count (fewer would weaken their
 * guarantees, and kafkajs warns), bounded by the test's timeout.
 */
export function testKafka(clientId = 'sluice-test'): Kafka {
  return new Kafka({ clientId, brokers: KAFKA_BROKERS, logLevel: LOG_LEVEL, connectionTimeout: 3000, requestTimeout: 15_000, retry: TEST_RETRY });
}

/** `prefix-<8 hex>`, so test runs never share topics, groups or transactional ids. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

let probe: Promise<string | null> | undefined;

/** Resolves to null when a broker answers at KAFKA_BROKERS, else to the reason it does not. Asked once per process. */
export function kafkaUnreachableReason(): Promise<string | null> {
  probe ??= (async () => {
    const kafka = new Kafka({ clientId: 'sluice-test-probe', brokers: KAFKA_BROKERS, logLevel: logLevel.NOTHING, connectionTimeout: 2000, requestTimeout: 5000, retry: { retries: 0 } });
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      return cluster.brokers.length ? null : 'no broker registered in the cluster';
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    } finally {
      await admin.disconnect().catch(() => {});
    }
  })();
  return probe;
}

let warned = false;

/**
 * True when the broker is reachable. When it is not: fails the test if REQUIRE_KAFKA=1
 * (CI), otherwise skips it loudly and returns false.
 */
export async function kafkaAvailable(t: TestContext): Promise<boolean> {
  const reason = await kafkaUnreachableReason();
  if (reason === null) return true;
  const message = `Kafka not reachable at ${KAFKA_BROKERS.join(',')}: start it with scripts/kafka/start.sh (${reason})`;
  if (process.env.REQUIRE_KAFKA === '1') assert.fail(`REQUIRE_KAFKA=1 and ${message}`);
  if (!warned) {
    warned = true;
    process.stderr.write(`\n!!! SKIPPING Kafka integration tests: ${message}\n!!! (set REQUIRE_KAFKA=1 to make this a failure)\n\n`);
  }
  t.skip(message);
  return false;
}

/** A sluice Kafka connection profile for the broker under test, with fast retries. */
export function testConnection(overrides: Partial<KafkaConnection> = {}): ResolvedConnection {
  return {
    kind: 'kafka',
    from: 'flag',
    kafka: {
      brokers: KAFKA_BROKERS,
      clientId: 'sluice-test',
      topics: { create: true, partitions: 1, replicationFactor: 1 },
      retry: { retries: 5, initialRetryTimeMs: 100, maxRetryTimeMs: 2000 },
      connectionTimeoutMs: 3000,
      requestTimeoutMs: 15_000,
      ...overrides,
    },
  };
}

/** Creates a topic with `partitions` partitions and produces JSON values (or raw strings) to it, keyed and timestamped as given. */
export async function produceTo(kafka: Kafka, topic: string, partitions: number, records: { key?: string | null; value: unknown; timestamp?: number; partition?: number }[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    for (let i = 0; i < records.length; i += 500) {
      const messages = records.slice(i, i + 500).map((r) => {
        const m: Message = { key: r.key ?? null, value: typeof r.value === 'string' ? r.value : JSON.stringify(r.value) };
        if (r.timestamp !== undefined) m.timestamp = String(r.timestamp);
        if (r.partition !== undefined) m.partition = r.partition;
        return m;
      });
      await producer.send({ topic, messages, acks: -1 });
    }
  } finally {
    await producer.disconnect();
  }
}

export interface ReadRecord {
  partition: number;
  offset: number;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  timestamp: number;
}

/** Every record of `topic` up to its current end, read_committed (or uncommitted), in partition then offset order. */
export async function readTopic(kafka: Kafka, topic: string, opts: { readUncommitted?: boolean } = {}): Promise<ReadRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  let ends: { partition: number; low: number; high: number }[];
  try {
    ends = (await admin.fetchTopicOffsets(topic)).map((o) => ({ partition: o.partition, low: Number(o.low), high: Number(o.high) }));
  } finally {
    await admin.disconnect();
  }
  const out: ReadRecord[] = [];
  if (opts.readUncommitted) {
    const c = kafka.consumer({ groupId: uniqueName('read'), readUncommitted: true, maxWaitTimeInMs: 100 });
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read_uncommitted of ${topic} timed out with ${out.length}`)), 30_000);
      const seen = new Map<number, number>();
      c.on(c.events.END_BATCH_PROCESS, (e) => {
        seen.set(e.payload.partition, Number(e.payload.lastOffset) + 1);
        if (ends.every((x) => (seen.get(x.partition) ?? x.low) >= x.high)) {
          clearTimeout(timer);
          resolve();
        }
      });
      void c.run({ eachMessage: async ({ partition, message }) => void out.push(toRead(partition, message)) });
      if (ends.every((x) => x.high <= x.low)) resolve();
    });
    await c.disconnect();
  } else {
    await readRanges(kafka, uniqueName('read'), ends.map((e) => ({ topic, partition: e.partition, from: e.low, to: e.high })), (r, msgs) => {
      for (const m of msgs) out.push({ partition: r.partition, offset: m.offset, key: m.key?.toString() ?? null, value: m.value, headers: m.headers, timestamp: m.timestamp });
    });
  }
  return out.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

function toRead(partition: number, m: KafkaMessage): ReadRecord {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.headers ?? {})) if (v !== undefined) headers[k] = v.toString();
  return { partition, offset: Number(m.offset), key: m.key?.toString() ?? null, value: m.value, headers, timestamp: Number(m.timestamp) };
}

/** The JSON values of records. */
export function jsonValues(records: ReadRecord[]): Record<string, unknown>[] {
  return records.map((r) => JSON.parse(r.value?.toString() ?? 'null') as Record<string, unknown>);
}

/** Deletes the topics named, and those starting with `<prefix>-` for each prefix (a topology's changelogs), so test runs do not pile partitions onto the broker. */
export async function dropTopics(kafka: Kafka, names: string[], prefixes: string[] = []): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const existing = await admin.listTopics();
    const doomed = existing.filter((t) => names.includes(t) || prefixes.some((p) => t.startsWith(`${p}-`)));
    if (doomed.length) await admin.deleteTopics({ topics: doomed, timeout: 30_000 });
  } catch {
    // Best effort: a leftover topic costs the broker a little, never a test result.
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
