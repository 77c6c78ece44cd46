// The Kafka passthrough ceiling: what raw kafkajs does on this machine and broker when it
// only copies records from one topic to another. A sluice job reading and writing Kafka
// is compared with this.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import type { Admin, Message } from 'kafkajs';

export interface KafkaPassthroughOptions {
  brokers: string[];
  /** Records produced, then copied. */
  records: number;
  /** Partitions of the input and output topics. */
  partitions: number;
  /** Approximate size of each JSON value in bytes (at least ~60). */
  valueBytes: number;
  /** Gives up after this long. Default 90 s. */
  timeoutMs?: number;
}

export interface KafkaPassthroughResult {
  /** Records/s copied input → output, from the first fetched batch to the last acknowledged send. */
  passthroughRecordsPerSecond: number;
  /** Records/s of the produce phase that filled the input topic. */
  produceRecordsPerSecond: number;
  passthroughSeconds: number;
  produceSeconds: number;
  /** The acks both producers ask for: -1 (all in-sync replicas; with one broker, the same as 1). */
  acks: -1;
  /** Mean records per fetched batch in the passthrough. */
  meanBatch: number;
}

const ACKS = -1;
/**
 * kafkajs's own log, off unless KAFKAJS_LOG_LEVEL (ERROR, WARN, INFO, DEBUG) asks for it: it logs
 * retriable broker answers (e.g. the group coordinator not yet available on a fresh broker) as
 * errors. Failures that matter are thrown.
 */
const LOG_LEVEL = logLevel[(process.env.KAFKAJS_LOG_LEVEL ?? 'NOTHING').toUpperCase() as keyof typeof logLevel] ?? logLevel.NOTHING;
const PRODUCE_CHUNK = 1000;
const PRODUCE_IN_FLIGHT = 4;

/** 1,000 distinct JSON values of about `bytes` bytes each. */
function valuePool(bytes: number): string[] {
  return Array.from({ length: 1000 }, (_, i) => {
    const base = { id: i, user: `u${i % 997}`, f0: ((i * 31) % 200) / 100 - 1, f1: ((i * 17) % 200) / 100 - 1, pad: '' };
    const pad = Math.max(0, bytes - JSON.stringify(base).length);
    return JSON.stringify({ ...base, pad: 'x'.repeat(pad) });
  });
}

async function totalRecords(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
}

/**
 * Produces `records` JSON records into a fresh topic, then measures a raw kafkajs
 * consume→produce passthrough: one consumer group reading every partition in parallel with
 * `eachBatch`, sending each batch as one produce request (acks -1, no compression) to the
 * same partition of a fresh output topic, offsets resolved per batch and committed by
 * kafkajs's auto-commit. No decoding: the bytes are copied as they are.
 */
export async function kafkaPassthroughRecordsPerSecond(o: KafkaPassthroughOptions): Promise<KafkaPassthroughResult> {
  const id = randomBytes(4).toString('hex');
  const input = `bench-passthrough-in-${id}`;
  const output = `bench-passthrough-out-${id}`;
  const timeoutMs = o.timeoutMs ?? 90_000;
  const kafka = new Kafka({ clientId: 'sluice-bench', brokers: o.brokers, logLevel: LOG_LEVEL, retry: { initialRetryTime: 100, maxRetryTime: 2000, retries: 8 } });
  const admin = kafka.admin();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  const consumer = kafka.consumer({ groupId: `bench-passthrough-${id}`, maxWaitTimeInMs: 100, sessionTimeout: 30_000, heartbeatInterval: 3000 });
  await admin.connect();
  try {
    await admin.createTopics({ topics: [input, output].map((topic) => ({ topic, numPartitions: o.partitions, replicationFactor: 1 })), waitForLeaders: true });
    await producer.connect();

    // Produce phase: chunks of 1,000 keyed records, 4 requests in flight.
    const pool = valuePool(o.valueBytes);
    let next = 0;
    const produceStart = performance.now();
    await Promise.all(
      Array.from({ length: PRODUCE_IN_FLIGHT }, async () => {
        for (let from = next; from < o.records; from = next) {
          next = Math.min(o.records, from + PRODUCE_CHUNK);
          const messages: Message[] = [];
          for (let i = from; i < next; i++) messages.push({ key: `u${i % 997}`, value: pool[i % pool.length]! });
          await producer.send({ topic: input, acks: ACKS, messages });
        }
      }),
    );
    const produceSeconds = (performance.now() - produceStart) / 1000;
    const produced = await totalRecords(admin, input);
    if (produced !== o.records) throw new Error(`kafka ceiling: produced ${produced} records into ${input}, expected ${o.records}`);

    // Passthrough phase; the clock starts at the first batch, so group join is not counted.
    await consumer.connect();
    await consumer.subscribe({ topics: [input], fromBeginning: true });
    let copied = 0;
    let batches = 0;
    let start = 0;
    let end = 0;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`kafka ceiling: passthrough copied ${copied} of ${o.records} records within ${timeoutMs / 1000} s`)), timeoutMs);
      consumer.on(consumer.events.CRASH, (e) => {
        clearTimeout(timer);
        reject(e.payload.error);
      });
      consumer
        .run({
          partitionsConsumedConcurrently: o.partitions,
          eachBatch: async ({ batch, heartbeat }) => {
            if (!start) start = performance.now();
            if (!batch.messages.length) return;
            await producer.send({ topic: output, acks: ACKS, messages: batch.messages.map((m) => ({ key: m.key, value: m.value, partition: batch.partition })) });
            copied += batch.messages.length;
            batches++;
            await heartbeat();
            if (copied >= o.records && !end) {
              end = performance.now();
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
    const passthroughSeconds = (end - start) / 1000;
    const written = await totalRecords(admin, output);
    if (written !== o.records) throw new Error(`kafka ceiling: ${written} records in ${output}, expected ${o.records}`);
    return {
      passthroughRecordsPerSecond: o.records / passthroughSeconds,
      produceRecordsPerSecond: o.records / produceSeconds,
      passthroughSeconds,
      produceSeconds,
      acks: ACKS,
      meanBatch: o.records / batches,
    };
  } finally {
    await consumer.disconnect().catch(() => {});
    await producer.disconnect().catch(() => {});
    await admin.deleteTopics({ topics: [input, output] }).catch(() => {});
    await admin.disconnect();
  }
}

/** True when a broker at `brokers` answers (cluster metadata with a registered broker) within ~5 s. */
export async function kafkaReachable(brokers: string[]): Promise<boolean> {
  const admin = new Kafka({ clientId: 'sluice-bench-probe', brokers, logLevel: logLevel.NOTHING, connectionTimeout: 2000, requestTimeout: 5000, retry: { retries: 0 } }).admin();
  try {
    await admin.connect();
    return (await admin.describeCluster()).brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** scripts/kafka/<name>, found by walking up from this module (it runs from dist/bench/lib). */
function kafkaScript(name: string): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const p = join(dir, 'scripts', 'kafka', name);
    if (existsSync(p)) return p;
    if (dirname(dir) === dir) throw new Error(`scripts/kafka/${name} not found above ${fileURLToPath(import.meta.url)}`);
  }
}

/** Runs scripts/kafka/<name> with KAFKA_PORT set; its output goes to stderr (stdout carries RESULT lines). */
function runKafkaScript(name: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [kafkaScript(name)], { stdio: ['ignore', process.stderr, process.stderr], env: { ...process.env, KAFKA_PORT: String(port) } });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`scripts/kafka/${name} exited with ${code}`))));
  });
}

/**
 * Makes sure a broker answers at `brokers`: if none does and the address is a single loopback
 * one, starts it with scripts/kafka/start.sh on that port. Returns a function that stops the
 * broker again if (and only if) this call started it.
 */
export async function ensureKafkaBroker(brokers: string[]): Promise<{ started: boolean; stop: () => Promise<void> }> {
  if (await kafkaReachable(brokers)) return { started: false, stop: async () => {} };
  const m = brokers.length === 1 ? /^(127\.0\.0\.1|localhost):(\d+)$/.exec(brokers[0]!) : null;
  if (!m) throw new Error(`no Kafka broker answers at ${brokers.join(',')}, and only a single 127.0.0.1:PORT address can be started here`);
  const port = Number(m[2]);
  process.stderr.write(`kafka: no broker at ${brokers[0]}; starting one with scripts/kafka/start.sh\n`);
  await runKafkaScript('start.sh', port);
  return { started: true, stop: () => runKafkaScript('stop.sh', port) };
}
