import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EmbeddedLog } from '../../connectors/embedded/index.js';
import { createLogger } from '../../src/core/logger.js';
import type { LogRecord } from '../../src/core/record.js';
import { Job } from '../../src/runtime/job.js';
import { topology } from '../../src/topology/builder.js';
import type { TopologyDefinition } from '../../src/topology/schema.js';
import type { Benchmark } from '../lib/benchmark.js';
import { median, result, round } from '../lib/result.js';

const USERS = Number(process.env.BENCH_STATEFUL_USERS ?? 1_000_000);
/** Two passes over the users: the first creates every key's state, the second reads it back from disk. */
const RECORDS = Number(process.env.BENCH_STATEFUL_RECORDS ?? 2 * USERS);
const WARMUP_RECORDS = Number(process.env.BENCH_STATEFUL_WARMUP ?? 100_000);
const BATCH = 1024;
const PARTITIONS = 2;
const IN_FLIGHT = 4;
const REPS = Number(process.env.BENCH_STATEFUL_REPS ?? 3);
const WINDOW = '1m';
/** Event time advances 1 ms per record: 60,000 records per 1-minute window, one pass over the users spans ~17 windows. */
const T0 = Date.UTC(2026, 0, 1);
const MODEL = resolve('models/small-mlp.onnx');
const RAW = ['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7'];
const AGGREGATED = ['txn_count', 'avg_amount', 'max_amount'];
/** The stateful variant scores 5 raw features and the 3 running aggregates: 8 inputs, as the stateless one. */
const STATEFUL_FEATURES = [...RAW.slice(0, 5), ...AGGREGATED];
/** Multiplier coprime to every USERS of the form 2^a·5^b, so i → (i·A) mod USERS visits every user once per pass, scattered. */
const SCATTER = 7919;

/** ~110-byte JSON events, keyed by user, each distinct; record i is user (i·7919) mod USERS at event time T0 + i ms. */
async function produce(log: EmbeddedLog, topic: string, n: number): Promise<void> {
  await log.createTopic(topic, PARTITIONS);
  const chunk = 10_000;
  for (let i = 0; i < n; i += chunk) {
    const batch: LogRecord[] = [];
    for (let j = i; j < Math.min(n, i + chunk); j++) {
      const user = `u${((j * SCATTER) % USERS).toString().padStart(7, '0')}`;
      const f = RAW.map((_, k) => (((j * 31 + k * 17) % 200) / 100 - 1).toFixed(2));
      const value = `{"id":${j},"user":"${user}","amount":${((j * 7) % 10_000) / 100},${RAW.map((name, k) => `"${name}":${f[k]}`).join(',')}}`;
      batch.push({ key: user, value, timestamp: T0 + j });
    }
    await log.produce(topic, batch);
  }
}

function stateless(name: string, input: string, output: string): TopologyDefinition {
  return topology(name)
    .model('mlp', { path: MODEL, maxBatchSize: BATCH })
    .source('events', { type: 'topic', topic: input })
    .score({ model: 'mlp', features: RAW, outputs: { score: 'score' } })
    .to('out')
    .sink('out', { type: 'topic', topic: output })
    .sink('dlq', { type: 'topic', topic: `dlq-${name}` })
    .deadLetter('dlq')
    .runtime({ batchSize: BATCH, maxInFlight: IN_FLIGHT })
    .build();
}

function stateful(name: string, input: string, output: string): TopologyDefinition {
  return topology(name)
    .model('mlp', { path: MODEL, maxBatchSize: BATCH })
    .source('events', { type: 'topic', topic: input })
    .step('aggregate', { aggregates: { txn_count: { count: {} }, avg_amount: { avg: 'amount' }, max_amount: { max: 'amount' } } })
    .score({ model: 'mlp', features: STATEFUL_FEATURES, outputs: { score: 'score' } })
    .step('window', { window: { tumbling: WINDOW }, aggregates: { n: { count: {} }, avg_score: { avg: 'score' }, max_score: { max: 'score' } }, emit: 'close' })
    .to('out')
    .sink('out', { type: 'topic', topic: output })
    .sink('dlq', { type: 'topic', topic: `dlq-${name}` })
    .deadLetter('dlq')
    .runtime({ batchSize: BATCH, maxInFlight: IN_FLIGHT })
    .build();
}

interface Run {
  recordsPerSecond: number;
  /** Largest heapUsed seen while the job ran (sampled every 50 ms). */
  peakHeapMb: number;
}

/** Runs one variant over the whole input topic to idle (a fresh group and state namespace each time). */
async function oneRun(log: EmbeddedLog, variant: 'stateless' | 'stateful', rep: string, input: string, n: number): Promise<Run> {
  const name = `${variant}-${rep}`;
  const output = `out-${name}`;
  await log.createTopic(output, PARTITIONS);
  const def = variant === 'stateless' ? stateless(name, input, output) : stateful(name, input, output);
  const job = await Job.start(def, { log, untilIdle: true, logger: createLogger('bench', 'warn') });
  let peakHeap = process.memoryUsage().heapUsed;
  const sampler = setInterval(() => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)), 50);
  const start = performance.now();
  const summary = await job.done;
  const seconds = (performance.now() - start) / 1000;
  clearInterval(sampler);
  if (summary.status !== 'completed') throw new Error(`${name}: job ${summary.status}: ${summary.error ?? ''}`);
  if (summary.recordsIn !== n || summary.deadLettered) throw new Error(`${name}: read ${summary.recordsIn} of ${n} records, dead-lettered ${summary.deadLettered}`);
  // Every user's records fall in different 1-minute windows, so both variants write exactly one record per input record.
  const written = Array.from({ length: PARTITIONS }, (_, p) => log.endOffset(output, p)).reduce((a, b) => a + b, 0);
  if (written !== n) throw new Error(`${name}: wrote ${written} records, expected ${n}`);
  return { recordsPerSecond: n / seconds, peakHeapMb: peakHeap / 2 ** 20 };
}

async function countKv(log: EmbeddedLog, prefix: string): Promise<number> {
  let n = 0;
  for await (const _ of log.scanKv(prefix)) n++;
  return n;
}

export const streamStateful: Benchmark = {
  name: 'stream-stateful',
  mode: 'state',
  description:
    `keyed state vs none, same pre-produced input, same run: ${RECORDS.toLocaleString('en-US')} ~110-byte JSON events of ${USERS.toLocaleString('en-US')} distinct users (each seen ${RECORDS / USERS}×, in different windows; event time +1 ms/record), 2 partitions keyed by user, run to idle (--until-idle). ` +
    'Stateless: topic → score (small MLP, 8 raw features) → topic. ' +
    `Stateful: topic → aggregate (per-user running count, avg and max of amount) → score (5 raw features + the 3 aggregates) → window (per-user ${WINDOW} tumbling event-time windows: count, avg and max of the score, emit on close) → topic. ` +
    'Every record is aggregated, scored and windowed; since no user repeats within a window, both variants write exactly one output record per input record (the window results, emitted as the watermark passes and at the end of input), so sink cost is the same. ' +
    'Interleaved reps, median of 3 after a warm-up; state lives in the embedded log (LevelDB), not the heap',
  async run() {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-stateful-'));
    const log = await EmbeddedLog.open(dir);
    try {
      await produce(log, 'warmup', WARMUP_RECORDS);
      await produce(log, 'events', RECORDS);
      await oneRun(log, 'stateless', 'warmup', 'warmup', WARMUP_RECORDS);
      await oneRun(log, 'stateful', 'warmup', 'warmup', WARMUP_RECORDS);
      const plain: Run[] = [];
      const keyed: Run[] = [];
      for (let r = 0; r < REPS; r++) {
        plain.push(await oneRun(log, 'stateless', `r${r}`, 'events', RECORDS));
        keyed.push(await oneRun(log, 'stateful', `r${r}`, 'events', RECORDS));
        process.stderr.write(`stream-stateful: rep ${r}: stateless ${Math.round(plain[r]!.recordsPerSecond)} records/s, stateful ${Math.round(keyed[r]!.recordsPerSecond)} records/s\n`);
      }
      const heapEndMb = process.memoryUsage().heapUsed / 2 ** 20;
      // The last stateful rep's state: one aggregate entry per user, windows all emitted (deleted), one watermark per task.
      const entries = await countKv(log, `state/stateful-r${REPS - 1}/`);
      const base = { benchmark: 'stream-stateful', name: 'stream-stateful', mode: 'state' as const };
      const params = { model: 'small-mlp [N,8]→64→1', records: RECORDS, users: USERS, window: `${WINDOW} tumbling, emit close`, batch: BATCH, partitions: PARTITIONS, maxInFlight: IN_FLIGHT, reps: REPS, workers: 2 };
      const statelessRate = median(plain.map((x) => x.recordsPerSecond));
      return [
        result({ ...base, metric: 'records_per_s', value: round(median(keyed.map((x) => x.recordsPerSecond))), unit: 'records/s', ceiling: { name: 'the same input and method without state (topic → score → topic)', value: round(statelessRate) }, params }),
        result({ ...base, metric: 'stateless_records_per_s', value: round(statelessRate), unit: 'records/s', ceiling: null, params }),
        result({ ...base, metric: 'peak_heap_used_mb_stateful_run', value: round(Math.max(...keyed.map((x) => x.peakHeapMb)), 1), unit: 'MiB', ceiling: null, params }),
        result({ ...base, metric: 'peak_heap_used_mb_stateless_run', value: round(Math.max(...plain.map((x) => x.peakHeapMb)), 1), unit: 'MiB', ceiling: null, params }),
        result({ ...base, metric: 'heap_used_mb_end', value: round(heapEndMb, 1), unit: 'MiB', ceiling: null, params }),
        result({ ...base, metric: 'state_entries_on_disk', value: entries, unit: 'entries', ceiling: null, params: { ...params, of: 'last stateful rep' } }),
      ];
    } finally {
      await log.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
};
