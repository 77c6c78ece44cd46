import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { EmbeddedLog } from '../../connectors/embedded/index.js';
import { systemClock } from '../../src/core/clock.js';
import { createLogger } from '../../src/core/logger.js';
import type { LogRecord } from '../../src/core/record.js';
import { Job } from '../../src/runtime/job.js';
import { KeyedStateBackend, addInputs, compileAggregates, kvStateStore, type AggregateState, type AggregatesConfig } from '../../src/state/index.js';
import { topology } from '../../src/topology/builder.js';
import type { TopologyDefinition } from '../../src/topology/schema.js';
import type { Benchmark } from '../lib/benchmark.js';
import { median, result, round } from '../lib/result.js';
import { cpuPerRecord, threadCpuMs } from '../lib/threads.js';

const USERS = Number(process.env.BENCH_STATEFUL_USERS ?? 1_000_000);
/** Records per measured segment; every record is a different user. */
const SEGMENT = Number(process.env.BENCH_STATEFUL_SEGMENT ?? 200_000);
const WARMUP = Number(process.env.BENCH_STATEFUL_WARMUP ?? 50_000);
const REPS = 3;
const BATCH = 1024;
const PARTITIONS = 2;
const IN_FLIGHT = 4;
/** Both variants checkpoint once a second (outputs, positions and state in one commit). */
const CHECKPOINT_MS = 1000;
const WINDOW = '1m';
/** Event time advances 1 ms per record: 60,000 records per 1-minute window. */
const T0 = Date.UTC(2026, 0, 1);
const MODEL = resolve('models/small-mlp.onnx');
const RAW = ['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7'];
const AGGREGATES: AggregatesConfig = { txn_count: { count: {} }, avg_amount: { avg: 'amount' }, max_amount: { max: 'amount' } };
/** The stateful variant scores 5 raw features and the 3 running aggregates: 8 inputs, like the stateless one. */
const STATEFUL_FEATURES = [...RAW.slice(0, 5), ...Object.keys(AGGREGATES)];
/** Coprime to 2^a·5^b user counts, so record i → user (i·7919) mod USERS never repeats a user within USERS records, and scatters keys. */
const SCATTER = 7919;

const userKey = (u: number) => `u${u.toString().padStart(7, '0')}`;
const amountOf = (i: number) => ((i * 7) % 10_000) / 100;

/** Appends records [from, to) of the input: ~110-byte JSON, keyed by user, event time T0 + i ms. */
async function produce(log: EmbeddedLog, topic: string, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i += 10_000) {
    const batch: LogRecord[] = [];
    for (let j = i; j < Math.min(to, i + 10_000); j++) {
      const user = userKey((j * SCATTER) % USERS);
      const value = `{"id":${j},"user":"${user}","amount":${amountOf(j)},${RAW.map((f, k) => `"${f}":${(((j * 31 + k * 17) % 200) / 100 - 1).toFixed(2)}`).join(',')}}`;
      batch.push({ key: user, value, timestamp: T0 + j });
    }
    await log.produce(topic, batch);
  }
}

/**
 * Gives every user the aggregate state one earlier event would have left, through the
 * state backend and the same storage namespace the job's aggregate step uses, so that
 * each measured record reads and rewrites an existing entry among USERS on disk.
 */
async function seedAggregateState(log: EmbeddedLog, job: string, topic: string): Promise<void> {
  const aggs = compileAggregates(AGGREGATES);
  const backends = Array.from({ length: PARTITIONS }, (_, p) => new KeyedStateBackend(kvStateStore(log), { namespace: `state/${job}/events-${p}/agg/`, clock: systemClock }));
  const states = backends.map((b) => b.value<AggregateState>('aggregates'));
  for (let u = 0; u < USERS; u++) {
    const key = userKey(u);
    const amount = amountOf(USERS + u);
    states[log.partitionFor(topic, key)]!.set(key, addInputs(aggs, {}, [undefined, amount, amount], T0 - 1));
    if ((u + 1) % 20_000 === 0 || u === USERS - 1) {
      await log.commit({ kv: backends.flatMap((b) => b.drainWrites()) });
      for (const b of backends) b.markCommitted();
    }
  }
}

function stateless(input: string, output: string): TopologyDefinition {
  return topology('stateless')
    .model('mlp', { path: MODEL, maxBatchSize: BATCH })
    .source('events', { type: 'topic', topic: input })
    .score({ model: 'mlp', features: RAW, outputs: { score: 'score' } })
    .to('out')
    .sink('out', { type: 'topic', topic: output })
    .sink('dlq', { type: 'topic', topic: 'dlq-stateless' })
    .deadLetter('dlq')
    .runtime({ batchSize: BATCH, maxInFlight: IN_FLIGHT, checkpointIntervalMs: CHECKPOINT_MS })
    .build();
}

function stateful(input: string, output: string): TopologyDefinition {
  return topology('stateful')
    .model('mlp', { path: MODEL, maxBatchSize: BATCH })
    .source('events', { type: 'topic', topic: input })
    .step('aggregate', { id: 'agg', aggregates: AGGREGATES })
    .score({ model: 'mlp', features: STATEFUL_FEATURES, outputs: { score: 'score' } })
    .step('window', { id: 'win', window: { tumbling: WINDOW }, aggregates: { n: { count: {} }, avg_score: { avg: 'score' }, max_score: { max: 'score' }, txn_count: { max: 'txn_count' } }, emit: 'close' })
    .to('out')
    .sink('out', { type: 'topic', topic: output })
    .sink('dlq', { type: 'topic', topic: 'dlq-stateful' })
    .deadLetter('dlq')
    .runtime({ batchSize: BATCH, maxInFlight: IN_FLIGHT, checkpointIntervalMs: CHECKPOINT_MS })
    .build();
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const total = (log: EmbeddedLog, topic: string) => Array.from({ length: PARTITIONS }, (_, p) => log.endOffset(topic, p)).reduce((a, b) => a + b, 0);

interface Run {
  recordsPerSecond: number;
  /** heapUsed after a full GC once the run is over, with the finished job (and its state caches) still referenced. */
  liveHeapMb: number;
  /** CPU per record: the main thread's, and every thread's (LevelDB's, the GC's, the model workers'). */
  mainUs: number;
  allUs: number;
}

/**
 * Runs one variant to idle over what the input holds beyond its committed position (the
 * same job name each time, so the stateful job keeps its state from segment to segment).
 * Timed from the job's start (models loaded) to its end (every record committed).
 */
async function runSegment(log: EmbeddedLog, def: TopologyDefinition, n: number): Promise<Run> {
  const output = (def.sinks['out'] as { topic: string }).topic;
  const before = total(log, output);
  const job = await Job.start(def, { log, untilIdle: true, logger: createLogger('bench', 'warn') });
  const cpu0 = threadCpuMs();
  const start = performance.now();
  const summary = await job.done;
  const seconds = (performance.now() - start) / 1000;
  const cpu = cpuPerRecord(cpu0, threadCpuMs(), n);
  if (summary.status !== 'completed') throw new Error(`${def.name}: job ${summary.status}: ${summary.error ?? ''}`);
  if (summary.recordsIn !== n || summary.deadLettered) throw new Error(`${def.name}: read ${summary.recordsIn} of ${n} records, dead-lettered ${summary.deadLettered}`);
  // No user repeats within a window, so both variants write exactly one record per input record.
  const written = total(log, output) - before;
  if (written !== n) throw new Error(`${def.name}: wrote ${written} records for ${n} read`);
  gc();
  const liveHeapMb = process.memoryUsage().heapUsed / 2 ** 20;
  // (job is used after the GC, so it and its state caches were still live during it)
  if (job.definition !== def) throw new Error('unreachable');
  return { recordsPerSecond: n / seconds, liveHeapMb, ...cpu };
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
    `keyed state vs none on the same input, same run: ~110-byte JSON events keyed by user, 2 partitions (each user in one), event time +1 ms per record, ` +
    `consumed in segments run to idle (a ${WARMUP.toLocaleString('en-US')}-record warm-up, then ${REPS} × ${SEGMENT.toLocaleString('en-US')} records; median), each variant resuming from its committed position. ` +
    `Both checkpoint every ${CHECKPOINT_MS} ms. ` +
    'Stateless: topic → score (small MLP, 8 raw features) → topic. ' +
    `Stateful: topic → aggregate (per-user running count, avg and max of amount) → score (5 raw features + the 3 aggregates) → window (per-user ${WINDOW} tumbling event-time windows: count, avg and max of the score, max count, emit on close) → topic. ` +
    `Every record is aggregated, scored and windowed. State holds ${USERS.toLocaleString('en-US')} users (seeded beforehand as if each had one earlier event), ` +
    'on disk in the embedded log, and every measured record is a different user, so each one reads its aggregate from the store (the 100k-entry cache never hits) and rewrites it. ' +
    'A user never repeats within a window, so both variants write one output record per input record (the stateful one when its window closes, or at the end of the segment): same sink cost',
  async run() {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-stateful-'));
    const log = await EmbeddedLog.open(dir);
    try {
      await log.createTopic('events', PARTITIONS);
      for (const t of ['out-stateless', 'out-stateful', 'dlq-stateless', 'dlq-stateful']) await log.createTopic(t, PARTITIONS);
      await seedAggregateState(log, 'stateful', 'events');
      const plainDef = stateless('events', 'out-stateless');
      const keyedDef = stateful('events', 'out-stateful');
      const plain: Run[] = [];
      const keyed: Run[] = [];
      let end = 0;
      for (let r = -1; r < REPS; r++) {
        const n = r < 0 ? WARMUP : SEGMENT;
        await produce(log, 'events', end, end + n);
        end += n;
        const a = await runSegment(log, plainDef, n);
        const b = await runSegment(log, keyedDef, n);
        if (r < 0) continue;
        plain.push(a);
        keyed.push(b);
        process.stderr.write(
          `stream-stateful: segment ${r + 1}: stateless ${Math.round(a.recordsPerSecond)} records/s (CPU µs/record: main ${a.mainUs.toFixed(1)}, all ${a.allUs.toFixed(1)}), ` +
            `stateful ${Math.round(b.recordsPerSecond)} records/s (main ${b.mainUs.toFixed(1)}, all ${b.allUs.toFixed(1)})\n`,
        );
      }
      gc();
      const heapEndMb = process.memoryUsage().heapUsed / 2 ** 20;
      // The job read the seeded state: each measured user's running count is 2 (seeded event + this one).
      for (let p = 0; p < PARTITIONS; p++) {
        const [first] = await log.read('out-stateful', p, 0, 1);
        const count = first && (JSON.parse(String(first.value)) as { txn_count?: unknown }).txn_count;
        if (count !== 2) throw new Error(`stateful output partition ${p}: txn_count ${String(count)}, expected 2: the job did not read the seeded state (did its state namespace change?)`);
      }
      const stateEntries = await countKv(log, 'state/stateful/');
      const params = { model: 'small-mlp [N,8]→64→1', users: USERS, checkpointMs: CHECKPOINT_MS, segment: SEGMENT, warmup: WARMUP, reps: REPS, window: `${WINDOW} tumbling, emit close`, batch: BATCH, partitions: PARTITIONS, maxInFlight: IN_FLIGHT, workers: 2 };
      const base = { benchmark: 'stream-stateful', name: 'stream-stateful', mode: 'state' as const, params };
      const statelessRate = median(plain.map((x) => x.recordsPerSecond));
      return [
        result({ ...base, metric: 'records_per_s', value: round(median(keyed.map((x) => x.recordsPerSecond))), unit: 'records/s', ceiling: { name: 'the same input and method without state (topic → score → topic)', value: round(statelessRate) } }),
        result({ ...base, metric: 'stateless_records_per_s', value: round(statelessRate), unit: 'records/s', ceiling: null }),
        // Thread CPU per record (Linux /proc): where the stateful variant's extra time goes, steadier than wall time on a shared machine.
        result({ ...base, metric: 'stateful_cpu_us_per_record_main_thread', value: round(median(keyed.map((x) => x.mainUs)), 1), unit: 'µs', ceiling: null }),
        result({ ...base, metric: 'stateful_cpu_us_per_record_all_threads', value: round(median(keyed.map((x) => x.allUs)), 1), unit: 'µs', ceiling: null }),
        result({ ...base, metric: 'stateless_cpu_us_per_record_main_thread', value: round(median(plain.map((x) => x.mainUs)), 1), unit: 'µs', ceiling: null }),
        result({ ...base, metric: 'stateless_cpu_us_per_record_all_threads', value: round(median(plain.map((x) => x.allUs)), 1), unit: 'µs', ceiling: null }),
        result({ ...base, metric: 'live_heap_mb_after_stateful_run', value: round(median(keyed.map((x) => x.liveHeapMb)), 1), unit: 'MiB', ceiling: null }),
        result({ ...base, metric: 'live_heap_mb_after_stateless_run', value: round(median(plain.map((x) => x.liveHeapMb)), 1), unit: 'MiB', ceiling: null }),
        result({ ...base, metric: 'heap_used_mb_end', value: round(heapEndMb, 1), unit: 'MiB', ceiling: null }),
        result({ ...base, metric: 'state_entries_on_disk', value: stateEntries, unit: 'entries', ceiling: null }),
      ];
    } finally {
      await log.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
};
