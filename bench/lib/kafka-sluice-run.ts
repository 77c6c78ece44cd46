// One sluice job on Kafka, run in its own process (so its peak RSS is its own) by the
// kafka-sluice benchmark: reads a pre-filled input topic to its end (--until-idle) and prints
//   SLUICE_RUN {"recordsPerSecond":…,"peakRssMb":…,…}
// Timed from the first record read to the moment the group's committed offsets reach the
// input's end (for both guarantees, offsets commit only with or after the outputs), as the
// passthrough is timed from its first fetched batch to its last acknowledged send.
//   node dist/bench/lib/kafka-sluice-run.js '<JSON KafkaSluiceRun>'
// First: sluice's Kafka connector patches kafkajs (read_committed filter, linear partition
// grouping) before kafkajs loads; importing kafkajs first would run the job without them.
import '../../connectors/kafka/index.js';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { isMainModule } from './is-main.js';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { createLogger } from '../../src/core/logger.js';
import { kafkaFromConfig } from '../../src/runtime/connection.js';
import { Job } from '../../src/runtime/job.js';
import { topology } from '../../src/topology/builder.js';
import type { AggregatesConfig } from '../../src/state/index.js';
import type { TopologyDefinition } from '../../src/topology/schema.js';

export interface KafkaSluiceRun {
  brokers: string[];
  input: string;
  /** Records in the input (every one is read). */
  records: number;
  variant: 'atLeastOnce' | 'exactlyOnce' | 'stateful';
  /** Unique per run: the topology name, hence the consumer group, transactional ids and changelogs. */
  name: string;
  batch: number;
  maxInFlight: number;
  /** Unset: the runtime's default for the guarantee. */
  checkpointIntervalMs?: number;
}

export interface KafkaSluiceRunResult {
  recordsPerSecond: number;
  seconds: number;
  peakRssMb: number;
  recordsIn: number;
  recordsOut: number;
  deadLettered: number;
  /** CPU seconds (user + system, every thread: main loop, ONNX workers, libuv) in the timed window. */
  cpuSeconds: number;
  /** CPU seconds of the main thread alone in the same window (Linux /proc; NaN elsewhere): the JavaScript side, which bounds the rate. */
  mainThreadCpuSeconds: number;
}

/** user + system CPU seconds of this process's main thread, from /proc (clock ticks of 10 ms). */
function mainThreadCpu(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

export const FEATURES = ['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7'];
const MODEL = resolve('models/small-mlp.onnx');
const AGGREGATES: AggregatesConfig = { txn_count: { count: {} }, avg_f0: { avg: 'f0' }, max_f1: { max: 'f1' } };

/** Score (small MLP) → Kafka, or aggregate → score → tumbling window → Kafka for the stateful row. */
export function benchTopology(r: KafkaSluiceRun): TopologyDefinition {
  const guarantee = r.variant === 'exactlyOnce' ? 'exactlyOnce' : 'atLeastOnce';
  let b = topology(r.name).model('mlp', { path: MODEL, maxBatchSize: r.batch }).source('events', { type: 'topic', topic: r.input });
  if (r.variant === 'stateful') {
    b = b
      .step('aggregate', { id: 'agg', aggregates: AGGREGATES })
      .score({ model: 'mlp', features: [...FEATURES.slice(0, 5), ...Object.keys(AGGREGATES)], outputs: { score: 'score' } })
      .step('window', { id: 'win', window: { tumbling: '1m' }, aggregates: { n: { count: {} }, avg_score: { avg: 'score' }, max_score: { max: 'score' } }, emit: 'close' });
  } else {
    b = b.score({ model: 'mlp', features: FEATURES, outputs: { score: 'score' } });
  }
  return b
    .to('out')
    .sink('out', { type: 'topic', topic: `${r.name}-out` })
    .sink('dlq', { type: 'topic', topic: `${r.name}-dlq` })
    .deadLetter('dlq')
    .runtime({ batchSize: r.batch, maxInFlight: r.maxInFlight, guarantee, ...(r.checkpointIntervalMs === undefined ? {} : { checkpointIntervalMs: r.checkpointIntervalMs }) })
    .build();
}

async function main(r: KafkaSluiceRun): Promise<KafkaSluiceRunResult> {
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-bench-kafka-'));
  const admin = new Kafka({ clientId: 'sluice-bench-watch', brokers: r.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const ends = new Map((await admin.fetchTopicOffsets(r.input)).map((o) => [o.partition, Number(o.high)]));
    const connection = { kind: 'kafka' as const, from: 'flag' as const, kafka: kafkaFromConfig({ brokers: r.brokers, topics: { create: true, partitions: ends.size, replicationFactor: 1 } }, process.cwd(), `sluice-${r.name}`) };
    const job = await Job.start(benchTopology(r), { connection, untilIdle: true, fresh: true, dataDir, logger: createLogger('bench', 'warn') });
    let start = 0;
    let cpuStart: NodeJS.CpuUsage | undefined;
    let mainStart = NaN;
    let mainUsed = NaN;
    const watchStart = setInterval(() => {
      if (!start && job.recordsRead() > 0) {
        start = performance.now();
        cpuStart = process.cpuUsage();
        mainStart = mainThreadCpu();
      }
    }, 2);
    let end = 0;
    let cpuUsed: NodeJS.CpuUsage | undefined;
    let stopWatching = false;
    const watchEnd = (async () => {
      while (!end && !stopWatching) {
        const committed = (await admin.fetchOffsets({ groupId: r.name, topics: [r.input] }))[0]?.partitions ?? [];
        if (committed.length === ends.size && committed.every((p) => Number(p.offset) >= (ends.get(p.partition) ?? Infinity))) {
          end = performance.now();
          cpuUsed = process.cpuUsage(cpuStart);
          mainUsed = mainThreadCpu() - mainStart;
        }
        else await new Promise((res) => setTimeout(res, 20));
      }
    })();
    const summary = await job.done;
    stopWatching = true;
    await watchEnd;
    clearInterval(watchStart);
    end ||= performance.now();
    if (!cpuUsed) {
      cpuUsed = process.cpuUsage(cpuStart);
      mainUsed = mainThreadCpu() - mainStart;
    }
    if (summary.status === 'failed') throw new Error(`the ${r.variant} job failed: ${summary.error}`);
    if (summary.recordsIn !== r.records) throw new Error(`the ${r.variant} job read ${summary.recordsIn} of ${r.records} records`);
    if (summary.deadLettered) throw new Error(`the ${r.variant} job dead-lettered ${summary.deadLettered} records`);
    if (r.variant !== 'stateful' && summary.recordsOut !== r.records) throw new Error(`the ${r.variant} job wrote ${summary.recordsOut} of ${r.records} records`);
    const seconds = (end - (start || end)) / 1000;
    return { recordsPerSecond: r.records / seconds, seconds, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024), recordsIn: summary.recordsIn, recordsOut: summary.recordsOut, deadLettered: summary.deadLettered, cpuSeconds: (cpuUsed.user + cpuUsed.system) / 1e6, mainThreadCpuSeconds: mainUsed };
  } finally {
    await admin.disconnect().catch(() => {});
    await rm(dataDir, { recursive: true, force: true });
  }
}

// Run as a script (not when imported for benchTopology).
if (isMainModule(import.meta.url)) {
  const r = JSON.parse(process.argv[2] ?? '{}') as KafkaSluiceRun;
  main(r).then(
    (res) => {
      process.stdout.write(`SLUICE_RUN ${JSON.stringify(res)}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`kafka-sluice-run: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
