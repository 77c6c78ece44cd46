import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { EmbeddedLog } from '../../connectors/embedded/index.js';
import { AvroEncoder, EmbeddedSchemaStore, parseAvroSchema, RegistrySchemaStore, type SchemaStore } from '../../connectors/serde/index.js';
import { createLogger } from '../../src/core/logger.js';
import type { LogRecord } from '../../src/core/record.js';
import type { ResolvedConnection } from '../../src/runtime/connection.js';
import { Job } from '../../src/runtime/job.js';
import type { TopologyDefinition } from '../../src/topology/schema.js';
import type { Benchmark } from '../lib/benchmark.js';
import { ensureKafkaBroker } from '../lib/kafka-ceiling.js';
import { ensureRegistry } from '../lib/registry.js';
import { median, result, round } from '../lib/result.js';
import { EVENT_SCHEMA, events } from './avro-serde.js';

const RECORDS = Number(process.env.BENCH_STREAM_AVRO_RECORDS ?? 300_000);
const KAFKA_RECORDS = Number(process.env.BENCH_STREAM_AVRO_KAFKA_RECORDS ?? 100_000);
const BATCH = 1024;
const PARTITIONS = 2;
const REPS = 3;
const MODEL = resolve('models/small-mlp.onnx');
const FEATURES = ['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7'];
const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',').map((b) => b.trim()).filter(Boolean);
const REGISTRY = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:18081';

type Format = 'json' | 'avro';

/** The same scoring topology, reading and writing `format`. */
function scoring(name: string, input: string, output: string, format: Format): TopologyDefinition {
  return {
    name,
    models: { mlp: { path: MODEL, maxBatchSize: BATCH } },
    sources: { events: { type: 'topic', topic: input, format, partitions: PARTITIONS } },
    pipeline: [{ score: { model: 'mlp', features: FEATURES } }, { sink: 'scored' }],
    sinks: { scored: { type: 'topic', topic: output, format, partitions: PARTITIONS }, dlq: { type: 'topic', topic: `${output}-dlq` } },
    deadLetter: 'dlq',
    runtime: { batchSize: BATCH },
  } as TopologyDefinition;
}

/** 10,000 distinct event values in both formats (Avro framed with the registered schema's id). */
async function pools(store: SchemaStore, subject: string): Promise<Record<Format, (string | Buffer)[]>> {
  const values = events(10_000);
  const e = new AvroEncoder({ store, schema: parseAvroSchema(JSON.stringify(EVENT_SCHEMA), 'bench'), subject: () => subject, autoRegister: true, where: 'bench' });
  await e.prepare([]);
  return { json: values.map((v) => JSON.stringify(v)), avro: values.map((v) => e.encode(v)) };
}

/** Embedded log: produce `n` records while the job runs live; records/s from first produce to last scored. */
async function embeddedRun(log: EmbeddedLog, rep: string, format: Format, n: number, pool: (string | Buffer)[]): Promise<number> {
  const input = `events-${format}-${rep}`;
  const output = `scored-${format}-${rep}`;
  await log.createTopic(input, PARTITIONS);
  await log.createTopic(output, PARTITIONS);
  const job = await Job.start(scoring(`bench-${format}-${rep}`, input, output, format), { log, logger: createLogger('bench', 'warn') });
  const scored = () => Array.from({ length: PARTITIONS }, (_, p) => log.endOffset(output, p)).reduce((a, b) => a + b, 0);
  const start = performance.now();
  for (let i = 0; i < n; i += 1000) {
    const batch: LogRecord[] = [];
    for (let j = i; j < Math.min(n, i + 1000); j++) batch.push({ key: `u${j % 997}`, value: pool[j % pool.length]!, timestamp: Date.now() });
    await log.produce(input, batch);
  }
  while (scored() < n) await log.waitForAppend(output, 0, log.endOffset(output, 0), 20);
  const seconds = (performance.now() - start) / 1000;
  const summary = await job.stop();
  if (summary.deadLettered) throw new Error(`bench run dead-lettered ${summary.deadLettered} records (${format})`);
  return n / seconds;
}

/**
 * Kafka: `n` records produced first, then the job replays them (untilIdle); records/s over the
 * job's wall time, consumer-group join included (the same for both formats).
 */
async function kafkaRun(kafka: Kafka, format: Format, n: number, pool: (string | Buffer)[], rep: string): Promise<number> {
  const tag = `${format}-${rep}-${Date.now().toString(36)}`;
  const input = `bench-avro-in-${tag}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: input, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  for (let i = 0; i < n; i += 5000) {
    const messages = [];
    for (let j = i; j < Math.min(n, i + 5000); j++) messages.push({ key: `u${j % 997}`, value: pool[j % pool.length]! });
    await producer.send({ topic: input, acks: -1, messages });
  }
  await producer.disconnect();
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-avro-kafka-'));
  try {
    const connection: ResolvedConnection = {
      kind: 'kafka', from: 'flag', schemaRegistry: { url: REGISTRY, autoRegister: true },
      kafka: { brokers: BROKERS, clientId: 'sluice-bench', topics: { create: true, partitions: PARTITIONS, replicationFactor: 1 }, retry: { retries: 5, initialRetryTimeMs: 100, maxRetryTimeMs: 2000 }, connectionTimeoutMs: 3000, requestTimeoutMs: 30_000 },
    };
    const start = performance.now();
    const s = await (await Job.start(scoring(`bench-${tag}`, input, `bench-avro-out-${tag}`, format), { connection, dataDir: dir, untilIdle: true, logger: createLogger('bench', 'warn') })).done;
    if (s.status !== 'completed' || s.recordsOut !== n) throw new Error(`kafka ${format} run: ${s.status} ${s.error ?? ''} out ${s.recordsOut}/${n}`);
    return n / ((performance.now() - start) / 1000);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const streamAvro: Benchmark = {
  name: 'stream-avro',
  mode: 'stream',
  description: `Avro decode → score (small MLP) → Avro encode against the same topology on JSON (target ≥ 0.9), on the embedded log: live, ${RECORDS} records, ${PARTITIONS} partitions, schemas in the embedded store; JSON and Avro runs alternate, median of ${REPS}`,
  async run() {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-avro-'));
    const log = await EmbeddedLog.open(dir);
    try {
      const pool = await pools(await EmbeddedSchemaStore.open(log), 'events-value');
      await embeddedRun(log, 'warmup', 'json', Math.min(50_000, RECORDS), pool.json);
      await embeddedRun(log, 'warmup', 'avro', Math.min(50_000, RECORDS), pool.avro);
      const rates: Record<Format, number[]> = { json: [], avro: [] };
      for (let r = 0; r < REPS; r++) for (const f of ['json', 'avro'] as const) rates[f].push(await embeddedRun(log, `r${r}`, f, RECORDS, pool[f]));
      const params = { model: 'small-mlp [N,8]→64→1', records: RECORDS, partitions: PARTITIONS, batch: BATCH, reps: REPS, bytes_json: Buffer.byteLength(pool.json[0] as string), bytes_avro: (pool.avro[0] as Buffer).length };
      return [result({ benchmark: 'stream-avro', name: 'stream-avro', mode: 'stream', metric: 'embedded_records_per_s', value: round(median(rates.avro)), unit: 'records/s', ceiling: { name: 'the same topology on JSON, embedded log (target ≥ 0.9)', value: round(median(rates.json)) }, params })];
    } finally {
      await log.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export const streamAvroKafka: Benchmark = {
  name: 'stream-avro-kafka',
  mode: 'stream',
  description: `Avro decode → score (small MLP) → Avro encode against the same topology on JSON (target ≥ 0.9), on Kafka: a bounded replay of ${KAFKA_RECORDS} records (job wall time, consumer-group join included for both), ${PARTITIONS} partitions, the project's schema registry; broker and registry started by the scripts when none answers; JSON and Avro runs alternate, median of ${REPS}`,
  async run() {
    const broker = await ensureKafkaBroker(BROKERS);
    const registry = await ensureRegistry(REGISTRY);
    try {
      const kafka = new Kafka({ clientId: 'sluice-bench-producer', brokers: BROKERS, logLevel: logLevel.NOTHING });
      const store = new RegistrySchemaStore({ url: REGISTRY });
      const pool = await pools(store, `bench-avro-events-${Date.now().toString(36)}-value`);
      await store.close();
      const rates: Record<Format, number[]> = { json: [], avro: [] };
      for (let r = 0; r < REPS; r++) for (const f of ['json', 'avro'] as const) rates[f].push(await kafkaRun(kafka, f, KAFKA_RECORDS, pool[f], `r${r}`));
      const params = { model: 'small-mlp [N,8]→64→1', records: KAFKA_RECORDS, partitions: PARTITIONS, batch: BATCH, reps: REPS, guarantee: 'atLeastOnce', broker_started_by_bench: broker.started, registry_started_by_bench: registry.started };
      return [result({ benchmark: 'stream-avro-kafka', name: 'stream-avro-kafka', mode: 'stream', metric: 'kafka_records_per_s', value: round(median(rates.avro)), unit: 'records/s', ceiling: { name: 'the same topology on JSON, Kafka (target ≥ 0.9)', value: round(median(rates.json)) }, params })];
    } finally {
      await registry.stop();
      await broker.stop();
    }
  },
};
