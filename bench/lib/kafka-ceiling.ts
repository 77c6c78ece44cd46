// The Kafka passthrough ceiling: what raw kafkajs does on this machine and broker when it
// only copies records from one topic to another. A sluice job reading and writing Kafka
// is compared with this.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CompressionTypes, Kafka, Partitioners, logLevel } from 'kafkajs';
import type { Admin, Message, Producer } from 'kafkajs';

/**
 * How the raw kafkajs passthrough reads and writes. kafkajs has no linger: a produce request
 * carries what one `send` is given, so batching is per fetched batch (split into chunks that
 * stay under the broker's 1 MiB record-batch limit).
 */
export interface PassthroughTuning {
  name: string;
  /** Consumer fetch settings (kafkajs names). */
  fetch: { maxBytes: number; maxBytesPerPartition: number; minBytes: number; maxWaitTimeInMs: number };
  /** kafkajs `partitionsConsumedConcurrently`. */
  partitionsConsumedConcurrently: number;
  /** Records per produce request (one record batch per request and partition). */
  sendChunk: number;
  /**
   * Fetched batches per partition whose sends may still be unacknowledged while the next one is
   * fetched (1: send, wait for the ack, then fetch the next). Only acknowledged batches' offsets
   * are committed, so the passthrough stays at-least-once either way.
   */
  batchesInFlight: number;
  compression: CompressionTypes;
  acks: -1 | 1;
}

/** The passthrough as first written: kafkajs's default fetch sizes, one awaited send per fetched batch. */
export const NAIVE_PASSTHROUGH: PassthroughTuning = {
  name: 'naive',
  fetch: { maxBytes: 10 * 1024 * 1024, maxBytesPerPartition: 1024 * 1024, minBytes: 1, maxWaitTimeInMs: 100 },
  partitionsConsumedConcurrently: 0, // 0: one per partition
  sendChunk: Infinity,
  batchesInFlight: 1,
  compression: CompressionTypes.None,
  acks: -1,
};

/**
 * The fair ceiling, with every knob kafkajs has set for throughput (each overridable with
 * BENCH_KAFKA_* variables for tuning runs): large fetches (fewer round trips and bigger
 * batches), sends of up to 4,000 records (well under the 1 MiB batch limit), the next fetch
 * overlapped with the previous batch's sends, every partition consumed concurrently, and no
 * compression (gzip, the only codec kafkajs has built in, costs more CPU than loopback saves).
 * acks stay -1, what sluice's sinks ask for.
 */
export const TUNED_PASSTHROUGH: PassthroughTuning = {
  name: 'tuned',
  fetch: {
    maxBytes: envInt('BENCH_KAFKA_FETCH_MAX_BYTES', 32 * 1024 * 1024),
    maxBytesPerPartition: envInt('BENCH_KAFKA_FETCH_MAX_BYTES_PER_PARTITION', 4 * 1024 * 1024),
    minBytes: envInt('BENCH_KAFKA_FETCH_MIN_BYTES', 64 * 1024),
    maxWaitTimeInMs: envInt('BENCH_KAFKA_FETCH_MAX_WAIT_MS', 20),
  },
  partitionsConsumedConcurrently: 0,
  sendChunk: envInt('BENCH_KAFKA_SEND_CHUNK', 4000),
  batchesInFlight: envInt('BENCH_KAFKA_BATCHES_IN_FLIGHT', 3),
  compression: process.env.BENCH_KAFKA_COMPRESSION === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
  acks: -1,
};

function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer; got "${v}"`);
  return n;
}

export interface KafkaPassthroughOptions {
  brokers: string[];
  /** Records produced, then copied. */
  records: number;
  /** Partitions of the input and output topics. */
  partitions: number;
  /** Approximate size of each JSON value in bytes (at least ~60). */
  valueBytes: number;
  /** Default TUNED_PASSTHROUGH. */
  tuning?: PassthroughTuning;
  /** Values to cycle through instead of valuePool(valueBytes) (keys stay `u<i % 997>`). */
  pool?: string[];
  /** Gives up after this long. Default 90 s. */
  timeoutMs?: number;
  /**
   * Parse each value as JSON and write it back re-serialized: the least work any job that reads
   * a record's fields adds to the copy (a second, JSON-aware ceiling beside the byte copy).
   */
  json?: boolean;
}

export interface KafkaPassthroughResult {
  /** Records/s copied input → output, from the first fetched batch to the last acknowledged send. */
  passthroughRecordsPerSecond: number;
  /** Records/s of the produce phase that filled the input topic. */
  produceRecordsPerSecond: number;
  passthroughSeconds: number;
  produceSeconds: number;
  /** The acks the passthrough's producer asks for (-1: all in-sync replicas; with one broker, the same as 1). */
  acks: -1 | 1;
  /** Mean records per fetched batch in the passthrough. */
  meanBatch: number;
  /**
   * CPU seconds (user + system, every thread of this process) spent in the passthrough window:
   * what survives a loaded machine, unlike records/s. The window holds only the passthrough
   * (the fill is done before it and idle clients cost next to nothing).
   */
  passthroughCpuSeconds: number;
}

/**
 * kafkajs's own log, off unless KAFKAJS_LOG_LEVEL (ERROR, WARN, INFO, DEBUG) asks for it: it logs
 * retriable broker answers (e.g. the group coordinator not yet available on a fresh broker) as
 * errors. Failures that matter are thrown.
 */
const LOG_LEVEL = logLevel[(process.env.KAFKAJS_LOG_LEVEL ?? 'NOTHING').toUpperCase() as keyof typeof logLevel] ?? logLevel.NOTHING;
const PRODUCE_CHUNK = 1000;
const PRODUCE_IN_FLIGHT = 4;

/** 1,000 distinct JSON values of about `bytes` bytes each. */
export function valuePool(bytes: number): string[] {
  return Array.from({ length: 1000 }, (_, i) => {
    const base = { id: i, user: `u${i % 997}`, f0: ((i * 31) % 200) / 100 - 1, f1: ((i * 17) % 200) / 100 - 1, pad: '' };
    const pad = Math.max(0, bytes - JSON.stringify(base).length);
    return JSON.stringify({ ...base, pad: 'x'.repeat(pad) });
  });
}

export async function totalRecords(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
}

/**
 * Fills `topic` with `records` keyed records cycling through `pool` (chunks of 1,000, 4 in
 * flight, acks -1). Returns the produce rate in records/s.
 */
export async function fillTopic(producer: Producer, topic: string, records: number, pool: string[]): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: PRODUCE_IN_FLIGHT }, async () => {
      for (let from = next; from < records; from = next) {
        next = Math.min(records, from + PRODUCE_CHUNK);
        const messages: Message[] = [];
        for (let i = from; i < next; i++) messages.push({ key: `u${i % 997}`, value: pool[i % pool.length]! });
        await producer.send({ topic, acks: -1, messages });
      }
    }),
  );
  return records / ((performance.now() - start) / 1000);
}

/**
 * Produces `records` JSON records into a fresh topic, then measures a raw kafkajs
 * consume→produce passthrough with the given tuning: one consumer group reading every
 * partition with `eachBatch`, sending each fetched batch (in chunks) to the same partition of a
 * fresh output topic, committing (once a second) only offsets whose batches are acknowledged.
 * No decoding: the bytes are copied as they are.
 */
export async function kafkaPassthroughRecordsPerSecond(o: KafkaPassthroughOptions): Promise<KafkaPassthroughResult> {
  const tuning = o.tuning ?? TUNED_PASSTHROUGH;
  const id = randomBytes(4).toString('hex');
  const input = `bench-passthrough-in-${id}`;
  const output = `bench-passthrough-out-${id}`;
  const timeoutMs = o.timeoutMs ?? 90_000;
  const kafka = new Kafka({ clientId: 'sluice-bench', brokers: o.brokers, logLevel: LOG_LEVEL, retry: { initialRetryTime: 100, maxRetryTime: 2000, retries: 8 } });
  const admin = kafka.admin();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  const consumer = kafka.consumer({ groupId: `bench-passthrough-${id}`, ...tuning.fetch, sessionTimeout: 30_000, heartbeatInterval: 3000 });
  await admin.connect();
  try {
    await admin.createTopics({ topics: [input, output].map((topic) => ({ topic, numPartitions: o.partitions, replicationFactor: 1 })), waitForLeaders: true });
    await producer.connect();

    const produceStart = performance.now();
    await fillTopic(producer, input, o.records, o.pool ?? valuePool(o.valueBytes));
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
    let cpuStart: NodeJS.CpuUsage | undefined;
    let cpuUsed: NodeJS.CpuUsage | undefined;
    /** Per partition, the sends of batches not yet acknowledged, oldest first. */
    const inFlight = new Map<number, Promise<void>[]>();
    /** Per partition, the offset after the last acknowledged batch: what may be committed. */
    const acked = new Map<number, string>();
    // kafkajs fetches from the last resolved offset, so offsets are resolved as soon as a batch
    // is handed to the producer; commits (manual, once a second) only cover acknowledged batches.
    const commitAcked = () => consumer.commitOffsets([...acked].map(([partition, offset]) => ({ topic: input, partition, offset })));
    const committer = setInterval(() => void commitAcked().catch(() => {}), 1000);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`kafka ceiling: passthrough copied ${copied} of ${o.records} records within ${timeoutMs / 1000} s`)), timeoutMs);
        const fail = (err: unknown) => {
          clearTimeout(timer);
          reject(err instanceof Error ? err : new Error(String(err)));
        };
        consumer.on(consumer.events.CRASH, (e) => fail(e.payload.error));
        consumer
          .run({
            partitionsConsumedConcurrently: tuning.partitionsConsumedConcurrently || o.partitions,
            autoCommit: false,
            eachBatchAutoResolve: false,
            eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
              if (!start) {
                start = performance.now();
                cpuStart = process.cpuUsage();
              }
              const n = batch.messages.length;
              if (!n) return;
              batches++;
              const partition = batch.partition;
              const lastOffset = batch.lastOffset();
              const sends: Promise<unknown>[] = [];
              const chunk = Math.min(tuning.sendChunk, n);
              for (let from = 0; from < n; from += chunk) {
                const messages: Message[] = [];
                for (let i = from; i < Math.min(n, from + chunk); i++) {
                  const m = batch.messages[i]!;
                  messages.push({ key: m.key, value: o.json ? Buffer.from(JSON.stringify(JSON.parse(m.value!.toString()))) : m.value, partition });
                }
                sends.push(producer.send({ topic: output, acks: tuning.acks, compression: tuning.compression, messages }));
              }
              const done = Promise.all(sends).then(() => {
                acked.set(partition, String(Number(lastOffset) + 1));
                copied += n;
                if (copied >= o.records && !end) {
                  end = performance.now();
                  cpuUsed = process.cpuUsage(cpuStart);
                  clearTimeout(timer);
                  resolve();
                }
              });
              done.catch(fail);
              const queue = inFlight.get(partition) ?? [];
              inFlight.set(partition, queue);
              queue.push(done);
              // At most batchesInFlight batches unacknowledged per partition; the next fetch overlaps the others' sends.
              while (queue.length >= tuning.batchesInFlight) await queue.shift();
              resolveOffset(lastOffset);
              await heartbeat();
            },
          })
          .catch(fail);
      });
      await commitAcked();
    } finally {
      clearInterval(committer);
    }
    const passthroughSeconds = (end - start) / 1000;
    const written = await totalRecords(admin, output);
    if (written !== o.records) throw new Error(`kafka ceiling: ${written} records in ${output}, expected ${o.records}`);
    return {
      passthroughRecordsPerSecond: o.records / passthroughSeconds,
      produceRecordsPerSecond: o.records / produceSeconds,
      passthroughSeconds,
      produceSeconds,
      acks: tuning.acks,
      meanBatch: o.records / batches,
      passthroughCpuSeconds: cpuUsed ? (cpuUsed.user + cpuUsed.system) / 1e6 : NaN,
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
export function kafkaScript(name: string): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const p = join(dir, 'scripts', 'kafka', name);
    if (existsSync(p)) return p;
    if (dirname(dir) === dir) throw new Error(`scripts/kafka/${name} not found above ${fileURLToPath(import.meta.url)}`);
  }
}

/** Runs scripts/kafka/<name> (with KAFKA_PORT set when given); its output goes to stderr (stdout carries RESULT lines). */
export function runKafkaScript(name: string, port?: number, args: string[] = []): Promise<void> {
  return new Promise((resolve, reject) => {
    const env = port === undefined ? process.env : { ...process.env, KAFKA_PORT: String(port) };
    const child = spawn('bash', [kafkaScript(name), ...args], { stdio: ['ignore', process.stderr, process.stderr], env });
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
