// First: sluice's kafkajs fixes load before kafkajs (the passthrough here runs with them, as any process that imports sluice does).
import { partitionGroupingFixed, readCommittedFixed, recordDecodingFixed, recordEncodingFixed } from '../../connectors/kafka/index.js';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import type { Benchmark } from '../lib/benchmark.js';
import { TUNED_PASSTHROUGH, ensureKafkaBroker, fillTopic, kafkaPassthroughRecordsPerSecond, totalRecords } from '../lib/kafka-ceiling.js';
import { FEATURES, type KafkaSluiceRun, type KafkaSluiceRunResult } from '../lib/kafka-sluice-run.js';
import { median, result, round } from '../lib/result.js';

const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',').map((b) => b.trim()).filter(Boolean);
const RECORDS = Number(process.env.BENCH_KAFKA_RECORDS ?? 200_000);
const PARTITIONS = Number(process.env.BENCH_KAFKA_PARTITIONS ?? 2);
const WARMUP_RECORDS = Number(process.env.BENCH_KAFKA_WARMUP_RECORDS ?? 100_000);
const REPS = Number(process.env.BENCH_KAFKA_SLUICE_REPS ?? 1);
/** Records per micro-batch (the topology's runtime.batchSize). */
const BATCH = Number(process.env.BENCH_KAFKA_BATCH ?? 1024);
const IN_FLIGHT = 4;
/**
 * Both guarantees checkpoint every 100 ms (the runtime's exactlyOnce default), so a transaction or
 * an offset commit covers several micro-batches; BENCH_KAFKA_CHECKPOINT_MS=0 checkpoints every batch.
 */
const CHECKPOINT_MS = Number(process.env.BENCH_KAFKA_CHECKPOINT_MS ?? 100);

/** 1,000 distinct JSON events (~130 bytes): an id, a user and the small MLP's 8 features. */
export function eventPool(): string[] {
  return Array.from({ length: 1000 }, (_, i) => JSON.stringify({ id: i, user: `u${i % 997}`, ...Object.fromEntries(FEATURES.map((f, j) => [f, ((i * 31 + j * 17) % 200) / 100 - 1])) }));
}

/** Extra node flags for each sluice process, e.g. BENCH_KAFKA_NODE_ARGS=--cpu-prof to profile it. */
const NODE_ARGS = (process.env.BENCH_KAFKA_NODE_ARGS ?? '').split(' ').filter(Boolean);

/** One sluice job in a child process (bench/lib/kafka-sluice-run.ts), so its peak RSS is its own. */
export function runSluice(run: KafkaSluiceRun): Promise<KafkaSluiceRunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...NODE_ARGS, fileURLToPath(new URL('../lib/kafka-sluice-run.js', import.meta.url)), JSON.stringify(run)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('SLUICE_RUN '));
      if (code !== 0 || !line) reject(new Error(`sluice ${run.variant} run failed (exit ${code})`));
      else resolve(JSON.parse(line.slice('SLUICE_RUN '.length)) as KafkaSluiceRunResult);
    });
  });
}

export const kafkaSluice: Benchmark = {
  name: 'kafka-sluice',
  mode: 'stream',
  description: `sluice on Kafka: Kafka source → score (small MLP) → Kafka sink, atLeastOnce and exactlyOnce, and a stateful variant (aggregate → score → tumbling window, changelogs on Kafka), each in its own process over ${RECORDS} pre-filled ~130-byte JSON records in ${PARTITIONS} partitions, against the tuned kafkajs passthrough on the same records, broker and run`,
  timeLimitMs: 420_000,
  async run() {
    const broker = await ensureKafkaBroker(BROKERS);
    const id = randomBytes(4).toString('hex');
    const input = `bench-sluice-in-${id}`;
    const kafka = new Kafka({ clientId: 'sluice-bench', brokers: BROKERS, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    const created: string[] = [input];
    await admin.connect();
    try {
      const pool = eventPool();
      const valueBytes = round(pool.reduce((n, v) => n + v.length, 0) / pool.length);
      // The ceiling: the tuned raw kafkajs passthrough over the same values.
      const options = { brokers: BROKERS, partitions: PARTITIONS, valueBytes, pool, timeoutMs: 90_000 };
      await kafkaPassthroughRecordsPerSecond({ ...options, records: WARMUP_RECORDS });
      const passthroughRuns: number[] = [];
      const passthroughCpu: number[] = [];
      for (let i = 0; i < Math.max(REPS, 3); i++) {
        const r = await kafkaPassthroughRecordsPerSecond({ ...options, records: RECORDS });
        passthroughRuns.push(r.passthroughRecordsPerSecond);
        passthroughCpu.push(r.passthroughCpuSeconds);
      }
      const passthrough = round(median(passthroughRuns));
      const jsonRuns: number[] = [];
      for (let i = 0; i < Math.max(REPS, 3); i++) jsonRuns.push((await kafkaPassthroughRecordsPerSecond({ ...options, records: RECORDS, json: true })).passthroughRecordsPerSecond);
      const jsonPassthrough = round(median(jsonRuns));

      // One input for every sluice run; each run is its own consumer group and reads all of it.
      await admin.createTopics({ topics: [{ topic: input, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true });
      const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
      await producer.connect();
      await fillTopic(producer, input, RECORDS, pool);
      await producer.disconnect();
      if ((await totalRecords(admin, input)) !== RECORDS) throw new Error(`kafka-sluice: ${input} does not hold ${RECORDS} records`);

      const runs: Record<KafkaSluiceRun['variant'], KafkaSluiceRunResult[]> = { atLeastOnce: [], exactlyOnce: [], stateful: [] };
      for (let rep = 0; rep < REPS; rep++) {
        for (const variant of ['atLeastOnce', 'exactlyOnce', 'stateful'] as const) {
          const name = `bench-sluice-${variant.toLowerCase()}-${id}-${rep}`;
          created.push(`${name}-out`, `${name}-dlq`);
          runs[variant].push(await runSluice({ brokers: BROKERS, input, records: RECORDS, variant, name, batch: BATCH, maxInFlight: IN_FLIGHT, checkpointIntervalMs: CHECKPOINT_MS }));
        }
      }
      const rate = (v: KafkaSluiceRun['variant']) => round(median(runs[v].map((r) => r.recordsPerSecond)));
      const rss = (v: KafkaSluiceRun['variant']) => Math.max(...runs[v].map((r) => r.peakRssMb));
      // CPU per record (all threads of the process, in the timed window): comparable on a loaded machine, where records/s are not.
      const perRecordUs = (secs: number[]) => round((median(secs) / RECORDS) * 1e6, 2);
      const cpu = (v: KafkaSluiceRun['variant']) => ({ cpu_us_per_record: perRecordUs(runs[v].map((r) => r.cpuSeconds)), main_thread_cpu_us_per_record: perRecordUs(runs[v].map((r) => r.mainThreadCpuSeconds)) });
      const kafkajsFixes = Object.entries({ read_committed_filter: readCommittedFixed, partition_grouping: partitionGroupingFixed, record_encoder: recordEncodingFixed, record_decoder: recordDecodingFixed }).filter(([, on]) => on).map(([name]) => name).join(', ') || 'none';

      const params = { model: 'small-mlp [N,8]→64→1', broker: 'Apache Kafka 3.9.1 KRaft, 1 node, loopback', records: RECORDS, partitions: PARTITIONS, value_bytes: valueBytes, batch: BATCH, maxInFlight: IN_FLIGHT, checkpointIntervalMs: CHECKPOINT_MS, reps: REPS, passthrough_tuning: TUNED_PASSTHROUGH.name, broker_started_by_bench: broker.started, timing: 'first record read → committed offsets at the input end; each run a fresh process' };
      const base = { benchmark: 'kafka-sluice', name: 'kafka-sluice', mode: 'stream' as const };
      const passthroughCeiling = { name: 'tuned kafkajs passthrough (same records, broker, run)', value: passthrough };
      return [
        result({ ...base, metric: 'passthrough_records_per_s', value: passthrough, unit: 'records/s', ceiling: null, params: { ...params, reps: passthroughRuns.length, cpu_us_per_record: perRecordUs(passthroughCpu), kafkajs_fixes_loaded: kafkajsFixes, phase: 'the ceiling: raw kafkajs consume → produce (with the kafkajs fixes sluice loads, as in any process that imports sluice)' } }),
        result({ ...base, metric: 'at_least_once_records_per_s', value: rate('atLeastOnce'), unit: 'records/s', ceiling: passthroughCeiling, params: { ...params, guarantee: 'atLeastOnce', target_ratio: 0.7, ...cpu('atLeastOnce') } }),
        result({ ...base, metric: 'json_passthrough_records_per_s', value: jsonPassthrough, unit: 'records/s', ceiling: passthroughCeiling, params: { ...params, reps: jsonRuns.length, kafkajs_fixes_loaded: kafkajsFixes, phase: 'the same passthrough, each value parsed and re-serialized as JSON (JSON.parse/JSON.stringify): the least a job that reads fields adds to the byte copy' } }),
        result({ ...base, metric: 'at_least_once_vs_json_passthrough', value: rate('atLeastOnce'), unit: 'records/s', ceiling: { name: 'kafkajs passthrough with JSON parse + stringify (same records, broker, run)', value: jsonPassthrough }, params: { ...params, guarantee: 'atLeastOnce', phase: 'the atLeastOnce row again, against the JSON-aware passthrough' } }),
        result({ ...base, metric: 'exactly_once_records_per_s', value: rate('exactlyOnce'), unit: 'records/s', ceiling: passthroughCeiling, params: { ...params, guarantee: 'exactlyOnce', ...cpu('exactlyOnce') } }),
        result({ ...base, metric: 'stateful_records_per_s', value: rate('stateful'), unit: 'records/s', ceiling: { name: 'the stateless atLeastOnce row', value: rate('atLeastOnce') }, params: { ...params, guarantee: 'atLeastOnce', steps: 'aggregate (count, avg, max per key) → score → tumbling 1m window (emit on close), changelog topics on Kafka', window_outputs: runs.stateful[0]?.recordsOut ?? 0 } }),
        result({ ...base, metric: 'at_least_once_peak_rss_mb', value: rss('atLeastOnce'), unit: 'MiB', ceiling: null, params: { ...params, guarantee: 'atLeastOnce', phase: 'peak RSS of the sluice process' } }),
        result({ ...base, metric: 'exactly_once_peak_rss_mb', value: rss('exactlyOnce'), unit: 'MiB', ceiling: null, params: { ...params, guarantee: 'exactlyOnce', phase: 'peak RSS of the sluice process' } }),
        result({ ...base, metric: 'stateful_peak_rss_mb', value: rss('stateful'), unit: 'MiB', ceiling: null, params: { ...params, guarantee: 'atLeastOnce', phase: 'peak RSS of the sluice process' } }),
      ];
    } finally {
      const existing = await admin.listTopics().catch(() => [] as string[]);
      await admin.deleteTopics({ topics: existing.filter((t) => created.includes(t) || t.startsWith(`bench-sluice-`) && t.includes(id)) }).catch(() => {});
      await admin.disconnect();
      await broker.stop();
    }
  },
};
