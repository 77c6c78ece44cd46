import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EmbeddedLog } from '../../connectors/embedded/index.js';
import { createLogger } from '../../src/core/logger.js';
import type { LogRecord } from '../../src/core/record.js';
import { Job } from '../../src/runtime/job.js';
import { topology } from '../../src/topology/builder.js';
import type { Benchmark } from '../lib/benchmark.js';
import { logPassthroughRecordsPerSecond, rawOnnxRowsPerSecond } from '../lib/ceilings.js';
import { median, result, round } from '../lib/result.js';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const RECORDS = Number(process.env.BENCH_STREAM_RECORDS ?? 500_000);
const BATCH = 1024;
const PARTITIONS = Number(process.env.BENCH_STREAM_PARTITIONS ?? 2);
const IN_FLIGHT = Number(process.env.BENCH_STREAM_INFLIGHT ?? 4);
const REPS = 3;
const MODEL = resolve('models/small-mlp.onnx');
const FEATURES = ['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7'];

/** 10,000 distinct event values, cycled by the producer. */
function eventPool(): string[] {
  return Array.from({ length: 10_000 }, (_, i) => JSON.stringify({ id: i, user: `u${i % 997}`, ...Object.fromEntries(FEATURES.map((f, j) => [f, ((i * 31 + j * 17) % 200) / 100 - 1])) }));
}

/**
 * Produces `n` records while the job runs. Returns the seconds from first produce to
 * last scored record, and the main loop's longest stall in that window (job start-up excluded).
 */
async function oneRun(log: EmbeddedLog, rep: string, n: number, pool: string[]): Promise<{ seconds: number; maxStallMs: number }> {
  const input = `events-${rep}`;
  const output = `scored-${rep}`;
  await log.createTopic(input, PARTITIONS);
  await log.createTopic(output, PARTITIONS);
  const def = topology(`bench-${rep}`)
    .model('mlp', { path: MODEL, maxBatchSize: BATCH })
    .source('events', { type: 'topic', topic: input })
    .score({ model: 'mlp', features: FEATURES })
    .to('scored')
    .sink('scored', { type: 'topic', topic: output })
    .sink('dlq', { type: 'topic', topic: `dlq-${rep}` })
    .deadLetter('dlq')
    .runtime({ batchSize: BATCH, maxInFlight: IN_FLIGHT })
    .build();
  const job = await Job.start(def, { log, logger: createLogger('bench', 'warn') });
  const scored = () => Array.from({ length: PARTITIONS }, (_, p) => log.endOffset(output, p)).reduce((a, b) => a + b, 0);
  const stalls = monitorEventLoopDelay({ resolution: 5 });
  stalls.enable();
  const start = performance.now();
  for (let i = 0; i < n; i += 1000) {
    const batch: LogRecord[] = [];
    for (let j = i; j < Math.min(n, i + 1000); j++) batch.push({ key: `u${j % 997}`, value: pool[j % pool.length]!, timestamp: Date.now() });
    await log.produce(input, batch);
  }
  while (scored() < n) await log.waitForAppend(output, 0, log.endOffset(output, 0), 20);
  const seconds = (performance.now() - start) / 1000;
  stalls.disable();
  const summary = await job.stop();
  if (summary.deadLettered) throw new Error(`bench run dead-lettered ${summary.deadLettered} records`);
  return { seconds, maxStallMs: stalls.max / 1e6 };
}

export const streamEmbedded: Benchmark = {
  name: 'stream-embedded',
  mode: 'stream',
  description: 'produce → embedded topic → score (small MLP) → embedded topic, live, 2 partitions',
  async run() {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-stream-'));
    const log = await EmbeddedLog.open(dir);
    try {
      const pool = eventPool();
      await oneRun(log, 'warmup', 100_000, pool);
      const rates: number[] = [];
      const stalls: number[] = [];
      for (let r = 0; r < REPS; r++) {
        const { seconds, maxStallMs } = await oneRun(log, `r${r}`, RECORDS, pool);
        rates.push(RECORDS / seconds);
        stalls.push(maxStallMs);
      }
      const rate = median(rates);
      const passthrough = await logPassthroughRecordsPerSecond(log, 'events-r0', 'passthrough-out', BATCH);
      const onnx = await rawOnnxRowsPerSecond({ path: MODEL, batch: BATCH, features: FEATURES.length, workers: 2 });
      const params = { model: 'small-mlp [N,8]→64→1', batch: BATCH, records: RECORDS, partitions: PARTITIONS, maxInFlight: IN_FLIGHT, reps: REPS, workers: 2 };
      const base = { benchmark: 'stream-embedded', name: 'stream-embedded', mode: 'stream' as const, metric: 'records_per_s', value: round(rate), unit: 'records/s', params };
      return [
        result({ ...base, ceiling: { name: 'embedded log passthrough (read, JSON decode+encode, atomic commit)', value: round(passthrough) } }),
        result({ ...base, ceiling: { name: `raw onnxruntime, small MLP, batch ${BATCH}, 2 workers`, value: round(onnx) } }),
        result({ benchmark: 'stream-embedded', name: 'stream-embedded', mode: 'stream', metric: 'max_event_loop_stall_ms', value: round(Math.max(...stalls), 1), unit: 'ms', ceiling: null, params }),
      ];
    } finally {
      await log.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
};
