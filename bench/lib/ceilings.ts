import { Worker } from 'node:worker_threads';
import { EmbeddedLog } from '../../connectors/embedded/index.js';
import type { LogRecord } from '../../src/core/record.js';

/**
 * Raw onnxruntime throughput (rows/s) of a model at a batch size, in the same
 * layout as the ModelRunner: `workers` worker threads, one session each. `rows`: real
 * input rows to score (row-major, `features` each; default a synthetic batch);
 * `fetches`: the outputs to return, as the job fetches them (default all).
 */
export async function rawOnnxRowsPerSecond(o: { path: string; batch: number; features: number; workers: number; threads?: number; seconds?: number; rows?: Float32Array; fetches?: string[] }): Promise<number> {
  const data = { path: o.path, batch: o.batch, features: o.features, threads: o.threads ?? 1, seconds: o.seconds ?? 3, ...(o.rows ? { rows: o.rows } : {}), ...(o.fetches ? { fetches: o.fetches } : {}) };
  const workers = Array.from({ length: o.workers }, () => new Worker(new URL('./onnx-raw-worker.js', import.meta.url), { workerData: data }));
  try {
    await Promise.all(workers.map((w) => once(w)));
    const done = workers.map((w) => once(w) as Promise<{ rows: number; elapsed: number }>);
    for (const w of workers) w.postMessage('go');
    const results = await Promise.all(done);
    return results.reduce((sum, r) => sum + r.rows / r.elapsed, 0);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

function once(w: Worker): Promise<unknown> {
  return new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
}

/**
 * The embedded-log passthrough ceiling (records/s): read a topic, decode each value
 * as JSON, encode it again and commit it to another topic with the consumer position,
 * one atomic commit per batch, every partition in parallel. This is all the
 * streaming engine must do besides its operators.
 */
export async function logPassthroughRecordsPerSecond(log: EmbeddedLog, from: string, to: string, batch: number): Promise<number> {
  const info = log.requireTopic(from);
  if (!log.topic(to)) await log.createTopic(to, info.partitions);
  const start = performance.now();
  let total = 0;
  await Promise.all(
    Array.from({ length: info.partitions }, async (_, p) => {
      for (let pos = 0; ; ) {
        const recs = await log.read(from, p, pos, batch);
        if (!recs.length) return;
        const out: LogRecord[] = recs.map((r) => ({ key: r.key, value: JSON.stringify(JSON.parse(String(r.value))), timestamp: r.timestamp }));
        pos = recs[recs.length - 1]!.offset + 1;
        await log.commit({ appends: [{ topic: to, partition: p, records: out }], offsets: [{ group: 'passthrough', topic: from, partition: p, offset: pos }] });
        total += recs.length;
      }
    }),
  );
  return total / ((performance.now() - start) / 1000);
}
