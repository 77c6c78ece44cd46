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
import { KeyedStateBackend, addInputs, aggregateStateCodec, compileAggregates, kvStateStore, type AggregateState, type AggregatesConfig } from '../../src/state/index.js';
import { topology } from '../../src/topology/builder.js';
import type { TopologyDefinition } from '../../src/topology/schema.js';
import type { Benchmark } from '../lib/benchmark.js';
import { median, result, round, type BenchResult } from '../lib/result.js';
import { cpuByThreadName, cpuPerRecord, threadCpuMs, threadNames } from '../lib/threads.js';

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

/** The Zipf variant: key of rank r (1-based) drawn with probability ∝ 1 / r^ZIPF_EXPONENT over USERS keys. */
const ZIPF_EXPONENT = 1.0;
/** Window ends are emitted per user and minute: event time +1 ms per record. */
const WINDOW_MS = 60_000;

const userKey = (u: number) => `u${u.toString().padStart(7, '0')}`;
const amountOf = (i: number) => ((i * 7) % 10_000) / 100;

/** Which user each record has, in record order. */
type UserOf = (j: number) => number;

/** Uniform worst case: every record a different user (record j → user (j·SCATTER) mod USERS). */
const uniformUser: UserOf = (j) => (j * SCATTER) % USERS;

/**
 * Zipf-distributed users, drawn in record order from a fixed-seed generator (the same
 * sequence in every run): rank r is drawn with probability ∝ 1 / r^s, by binary search in
 * the cumulative distribution, and ranks are scattered over user ids as in the uniform
 * case, so hot users do not sit together in key order or in one partition.
 */
export function zipfUsers(n: number, s: number, seed: number): UserOf {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let r = 0; r < n; r++) cdf[r] = sum += 1 / Math.pow(r + 1, s);
  for (let r = 0; r < n; r++) cdf[r]! /= sum;
  let state = seed >>> 0;
  // mulberry32: small, fast, good enough to draw benchmark keys.
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => {
    const u = random();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return (lo * SCATTER) % n;
  };
}

/**
 * Appends records [from, to) of the input: ~110-byte JSON, keyed by user, event time T0 + i ms.
 * Returns how many (user, window) pairs the range holds: the window results it makes when
 * run as one segment (each segment ends by closing every open window).
 */
async function produce(log: EmbeddedLog, topic: string, from: number, to: number, userOf: UserOf): Promise<number> {
  const pairs = new Set<number>();
  for (let i = from; i < to; i += 10_000) {
    const batch: LogRecord[] = [];
    for (let j = i; j < Math.min(to, i + 10_000); j++) {
      const u = userOf(j);
      pairs.add(u * 1_000_000 + Math.floor(j / WINDOW_MS));
      const user = userKey(u);
      const value = `{"id":${j},"user":"${user}","amount":${amountOf(j)},${RAW.map((f, k) => `"${f}":${(((j * 31 + k * 17) % 200) / 100 - 1).toFixed(2)}`).join(',')}}`;
      batch.push({ key: user, value, timestamp: T0 + j });
    }
    await log.produce(topic, batch);
  }
  return pairs.size;
}

/**
 * Gives every user the aggregate state one earlier event would have left, through the
 * state backend, the same storage namespace and the same stored form (codec) the job's
 * aggregate step uses, so that each measured record reads and rewrites an existing entry
 * among USERS on disk, as the step itself wrote it.
 */
async function seedAggregateState(log: EmbeddedLog, job: string, topic: string): Promise<void> {
  const aggs = compileAggregates(AGGREGATES);
  const backends = Array.from({ length: PARTITIONS }, (_, p) => new KeyedStateBackend(kvStateStore(log), { namespace: `state/${job}/events-${p}/agg/`, clock: systemClock }));
  const codec = aggregateStateCodec(aggs, 'seed');
  const states = backends.map((b) => b.value<AggregateState>('aggregates', codec ? { codec } : {}));
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

function stateless(name: string, input: string, output: string): TopologyDefinition {
  return topology(name)
    .model('mlp', { path: MODEL, maxBatchSize: BATCH })
    .source('events', { type: 'topic', topic: input })
    .score({ model: 'mlp', features: RAW, outputs: { score: 'score' } })
    .to('out')
    .sink('out', { type: 'topic', topic: output })
    .sink('dlq', { type: 'topic', topic: `dlq-${name}` })
    .deadLetter('dlq')
    .runtime({ batchSize: BATCH, maxInFlight: IN_FLIGHT, checkpointIntervalMs: CHECKPOINT_MS })
    .build();
}

function stateful(name: string, input: string, output: string): TopologyDefinition {
  return topology(name)
    .model('mlp', { path: MODEL, maxBatchSize: BATCH })
    .source('events', { type: 'topic', topic: input })
    .step('aggregate', { id: 'agg', aggregates: AGGREGATES })
    .score({ model: 'mlp', features: STATEFUL_FEATURES, outputs: { score: 'score' } })
    .step('window', { id: 'win', window: { tumbling: WINDOW }, aggregates: { n: { count: {} }, avg_score: { avg: 'score' }, max_score: { max: 'score' }, txn_count: { max: 'txn_count' } }, emit: 'close' })
    .to('out')
    .sink('out', { type: 'topic', topic: output })
    .sink('dlq', { type: 'topic', topic: `dlq-${name}` })
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
  /** CPU µs per record by thread name, largest first. */
  byThread: [string, number][];
}

/**
 * Runs one variant to idle over what the input holds beyond its committed position (the
 * same job name each time, so the stateful job keeps its state from segment to segment).
 * Timed from the job's start (models loaded) to its end (every record committed).
 */
async function runSegment(log: EmbeddedLog, def: TopologyDefinition, n: number, expectedOut = n): Promise<Run> {
  const output = (def.sinks['out'] as { topic: string }).topic;
  const before = total(log, output);
  const job = await Job.start(def, { log, untilIdle: true, logger: createLogger('bench', 'warn') });
  const cpu0 = threadCpuMs();
  const start = performance.now();
  const summary = await job.done;
  const seconds = (performance.now() - start) / 1000;
  const cpu1 = threadCpuMs();
  const cpu = cpuPerRecord(cpu0, cpu1, n);
  const byThread = cpuByThreadName(cpu0, cpu1, threadNames(), n);
  if (summary.status !== 'completed') throw new Error(`${def.name}: job ${summary.status}: ${summary.error ?? ''}`);
  if (summary.recordsIn !== n || summary.deadLettered) throw new Error(`${def.name}: read ${summary.recordsIn} of ${n} records, dead-lettered ${summary.deadLettered}`);
  // Stateless: one record per input record. Stateful: one per (user, window) of the segment
  // (with uniform keys no user repeats within a window, so again one per input record).
  const written = total(log, output) - before;
  if (written !== expectedOut) throw new Error(`${def.name}: wrote ${written} records for ${n} read; expected ${expectedOut}`);
  gc();
  const liveHeapMb = process.memoryUsage().heapUsed / 2 ** 20;
  // (job is used after the GC, so it and its state caches were still live during it)
  if (job.definition !== def) throw new Error('unreachable');
  return { recordsPerSecond: n / seconds, liveHeapMb, ...cpu, byThread };
}

async function countKv(log: EmbeddedLog, prefix: string): Promise<number> {
  let n = 0;
  for await (const _ of log.scanKv(prefix)) n++;
  return n;
}

/**
 * Creates the variants' topics and seeds their state in `log`, then runs the warm-up and the measured
 * segments (per segment and variant: produce, the stateless job, the stateful job), recording each run.
 */
async function measure(log: EmbeddedLog, variants: Variant[], label?: string): Promise<void> {
  for (const v of variants) {
    await log.createTopic(v.topic, PARTITIONS);
    for (const d of [v.plain, v.keyed]) for (const sink of ['out', 'dlq']) await log.createTopic((d.sinks[sink] as { topic: string }).topic, PARTITIONS);
    await seedAggregateState(log, v.keyed.name, v.topic);
  }
  let end = 0;
  for (let r = -1; r < REPS; r++) {
    const n = r < 0 ? WARMUP : SEGMENT;
    for (const v of variants) {
      const pairs = await produce(log, v.topic, end, end + n, v.userOf);
      const a = await runSegment(log, v.plain, n);
      const b = await runSegment(log, v.keyed, n, pairs);
      if (r < 0) continue;
      v.plainRuns.push(a);
      v.keyedRuns.push(b);
      v.windowResults += pairs;
      process.stderr.write(
        `stream-stateful ${label ?? v.label}: segment ${r + 1}: stateless ${Math.round(a.recordsPerSecond)} records/s (CPU µs/record: main ${a.mainUs.toFixed(1)}, all ${a.allUs.toFixed(1)}), ` +
          `stateful ${Math.round(b.recordsPerSecond)} records/s (main ${b.mainUs.toFixed(1)}, all ${b.allUs.toFixed(1)}; by thread: ${b.byThread.map(([t, us]) => `${t} ${us.toFixed(1)}`).join(', ')})\n`,
      );
    }
    end += n;
  }
}

/** One key distribution: its input topic, and a stateless and a stateful job over it. */
interface Variant {
  label: 'uniform' | 'zipf';
  topic: string;
  userOf: UserOf;
  plain: TopologyDefinition;
  keyed: TopologyDefinition;
  plainRuns: Run[];
  keyedRuns: Run[];
  /** Window results the stateful job wrote in the measured segments. */
  windowResults: number;
}

function variant(label: Variant['label'], userOf: UserOf): Variant {
  const topic = label === 'uniform' ? 'events' : `events-${label}`;
  const suffix = label === 'uniform' ? '' : `-${label}`;
  return {
    label,
    topic,
    userOf,
    // The uniform jobs keep their historical names (and so their state namespace).
    plain: stateless(`stateless${suffix}`, topic, `out-stateless${suffix}`),
    keyed: stateful(`stateful${suffix}`, topic, `out-stateful${suffix}`),
    plainRuns: [],
    keyedRuns: [],
    windowResults: 0,
  };
}

export const streamStateful: Benchmark = {
  name: 'stream-stateful',
  mode: 'state',
  description:
    `keyed state vs none on the same input, same run, for two key distributions: ~110-byte JSON events keyed by user, 2 partitions (each user in one), event time +1 ms per record, ` +
    `consumed in segments run to idle (a ${WARMUP.toLocaleString('en-US')}-record warm-up, then ${REPS} × ${SEGMENT.toLocaleString('en-US')} records; median), each job resuming from its committed position. ` +
    `All jobs checkpoint every ${CHECKPOINT_MS} ms. ` +
    'Stateless: topic → score (small MLP, 8 raw features) → topic. ' +
    `Stateful: topic → aggregate (per-user running count, avg and max of amount) → score (5 raw features + the 3 aggregates) → window (per-user ${WINDOW} tumbling event-time windows: count, avg and max of the score, max count, emit on close) → topic. ` +
    `Every record is aggregated, scored and windowed. State holds ${USERS.toLocaleString('en-US')} users (seeded beforehand as if each had one earlier event), on disk in the embedded log. ` +
    'Uniform keys (the worst case): every measured record is a different user, so each one reads its aggregate from the store (the 100k-entry cache never hits) and rewrites it; ' +
    'a user never repeats within a window, so both jobs write one output record per input record. ' +
    `Zipf keys (exponent ${ZIPF_EXPONENT} over the same ${USERS.toLocaleString('en-US')} users, fixed seed): hot users are read from the cache, and the window step writes one result per user and minute (fewer records than the stateless job writes); the ratio is against the stateless job on the same Zipf input. ` +
    'The Zipf measurement is then repeated in a data directory of its own (the zipf_own_log rows): in the shared one, LevelDB compacts what the uniform jobs wrote during the Zipf segments',
  async run() {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-stateful-'));
    const log = await EmbeddedLog.open(dir);
    try {
      // BENCH_STATEFUL_KEYS=zipf (or uniform) runs one distribution only: for profiles and CPU measurements, not for the published rows.
      const only = process.env.BENCH_STATEFUL_KEYS;
      const variants = [variant('uniform', uniformUser), variant('zipf', zipfUsers(USERS, ZIPF_EXPONENT, 12345))].filter((v) => only === undefined || v.label === only);
      await measure(log, variants);
      // The same Zipf measurement once more with a data directory of its own: in the shared one, LevelDB
      // compacts what the uniform jobs wrote during the Zipf segments (see the _own_log rows).
      const ownDir = only === undefined ? await mkdtemp(join(tmpdir(), 'sluice-bench-stateful-zipf-')) : null;
      const own = variant('zipf', zipfUsers(USERS, ZIPF_EXPONENT, 12345));
      if (ownDir) {
        const ownLog = await EmbeddedLog.open(ownDir);
        try {
          await measure(ownLog, [own], 'zipf (own data directory)');
        } finally {
          await ownLog.close();
          await rm(ownDir, { recursive: true, force: true });
        }
      }
      gc();
      const heapEndMb = process.memoryUsage().heapUsed / 2 ** 20;
      // The uniform job read the seeded state: each measured user's running count is 2 (seeded event + this one).
      for (let p = 0; p < (variants.some((v) => v.label === 'uniform') ? PARTITIONS : 0); p++) {
        const [first] = await log.read('out-stateful', p, 0, 1);
        const count = first && (JSON.parse(String(first.value)) as { txn_count?: unknown }).txn_count;
        if (count !== 2) throw new Error(`stateful output partition ${p}: txn_count ${String(count)}, expected 2: the job did not read the seeded state (did its state namespace change?)`);
      }
      const stateEntries = await countKv(log, 'state/stateful/');
      const params = { model: 'small-mlp [N,8]→64→1', users: USERS, checkpointMs: CHECKPOINT_MS, segment: SEGMENT, warmup: WARMUP, reps: REPS, window: `${WINDOW} tumbling, emit close`, batch: BATCH, partitions: PARTITIONS, maxInFlight: IN_FLIGHT, workers: 2 };
      const base = { benchmark: 'stream-stateful', name: 'stream-stateful', mode: 'state' as const, params };
      const out: BenchResult[] = [];
      for (const v of variants) {
        // The uniform rows keep their historical metric names; the Zipf rows are prefixed.
        const m = (name: string) => (v.label === 'uniform' ? name : `${v.label}_${name}`);
        const vParams = { ...params, keys: v.label === 'uniform' ? 'uniform, every record a different user' : `zipf, exponent ${ZIPF_EXPONENT}` };
        const vBase = { ...base, params: vParams };
        const statelessRate = median(v.plainRuns.map((x) => x.recordsPerSecond));
        out.push(
          result({ ...vBase, metric: m('records_per_s'), value: round(median(v.keyedRuns.map((x) => x.recordsPerSecond))), unit: 'records/s', ceiling: { name: `the same ${v.label} input and method without state (topic → score → topic)`, value: round(statelessRate) } }),
          result({ ...vBase, metric: m('stateless_records_per_s'), value: round(statelessRate), unit: 'records/s', ceiling: null }),
          // Thread CPU per record (Linux /proc): where the stateful variant's extra time goes, steadier than wall time on a shared machine.
          result({ ...vBase, metric: m('stateful_cpu_us_per_record_main_thread'), value: round(median(v.keyedRuns.map((x) => x.mainUs)), 1), unit: 'µs', ceiling: null }),
          result({ ...vBase, metric: m('stateful_cpu_us_per_record_all_threads'), value: round(median(v.keyedRuns.map((x) => x.allUs)), 1), unit: 'µs', ceiling: null }),
          result({ ...vBase, metric: m('stateless_cpu_us_per_record_main_thread'), value: round(median(v.plainRuns.map((x) => x.mainUs)), 1), unit: 'µs', ceiling: null }),
          result({ ...vBase, metric: m('stateless_cpu_us_per_record_all_threads'), value: round(median(v.plainRuns.map((x) => x.allUs)), 1), unit: 'µs', ceiling: null }),
          result({ ...vBase, metric: m('live_heap_mb_after_stateful_run'), value: round(median(v.keyedRuns.map((x) => x.liveHeapMb)), 1), unit: 'MiB', ceiling: null }),
          result({ ...vBase, metric: m('live_heap_mb_after_stateless_run'), value: round(median(v.plainRuns.map((x) => x.liveHeapMb)), 1), unit: 'MiB', ceiling: null }),
        );
        if (v.label !== 'uniform') out.push(result({ ...vBase, metric: m('window_results_per_input_record'), value: round(v.windowResults / (REPS * SEGMENT), 3), unit: 'records', ceiling: null }));
      }
      if (own.keyedRuns.length) {
        const oParams = { ...params, keys: `zipf, exponent ${ZIPF_EXPONENT}`, data_directory: 'its own (no uniform jobs in the same LevelDB)' };
        const oBase = { ...base, params: oParams };
        out.push(
          result({ ...oBase, metric: 'zipf_own_log_records_per_s', value: round(median(own.keyedRuns.map((x) => x.recordsPerSecond))), unit: 'records/s', ceiling: { name: 'the same Zipf input and method without state, in the same data directory', value: round(median(own.plainRuns.map((x) => x.recordsPerSecond))) } }),
          result({ ...oBase, metric: 'zipf_own_log_stateful_cpu_us_per_record_all_threads', value: round(median(own.keyedRuns.map((x) => x.allUs)), 1), unit: 'µs', ceiling: null }),
          result({ ...oBase, metric: 'zipf_own_log_stateless_cpu_us_per_record_all_threads', value: round(median(own.plainRuns.map((x) => x.allUs)), 1), unit: 'µs', ceiling: null }),
        );
      }
      out.push(
        result({ ...base, metric: 'heap_used_mb_end', value: round(heapEndMb, 1), unit: 'MiB', ceiling: null }),
        result({ ...base, metric: 'state_entries_on_disk', value: stateEntries, unit: 'entries', ceiling: null }),
      );
      return out;
    } finally {
      await log.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
};
