/**
 * Throughput probe (not a test): rows/s through a ModelRunner vs one raw session on
 * the main thread, and the main event loop's longest stall during the runner run.
 *   node dist/scripts/probe-runner.js [model=models/small-mlp.onnx] [seconds=3]
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { ModelRunner } from '../src/model/index.js';

const path = process.argv[2] ?? 'models/small-mlp.onnx';
const seconds = Number(process.argv[3] ?? 3);

async function raw(batch: number): Promise<number> {
  const s = await ort.InferenceSession.create(path, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
  const width = Number(s.inputMetadata[0] && 'shape' in s.inputMetadata[0] ? s.inputMetadata[0].shape[1] : 8);
  const x = new Float32Array(batch * width).map(() => Math.random());
  const feeds = { [s.inputNames[0]!]: new ort.Tensor('float32', x, [batch, width]) };
  for (let i = 0; i < 20; i++) await s.run(feeds);
  let rows = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    await s.run(feeds);
    rows += batch;
  }
  await s.release();
  return rows / ((performance.now() - t0) / 1000);
}

async function viaRunner(requestRows: number, window: number, workers: number): Promise<{ rowsPerSec: number; maxStallMs: number; p99StallMs: number }> {
  const r = await ModelRunner.load({ name: 'probe', path, workers, maxBatchSize: 1024, maxQueueRows: 1 << 20 });
  const width = r.featureCount!;
  const x = new Float32Array(requestRows * width).map(() => Math.random());
  const h = monitorEventLoopDelay({ resolution: 1 });
  let rows = 0;
  const t0 = performance.now();
  h.enable();
  // Keep `window` requests outstanding, as many producers would.
  const lane = async (): Promise<void> => {
    while (performance.now() - t0 < seconds * 1000) {
      await r.infer(x, requestRows);
      rows += requestRows;
    }
  };
  await Promise.all(Array.from({ length: window }, lane));
  h.disable();
  const elapsed = (performance.now() - t0) / 1000;
  await r.close();
  return { rowsPerSec: rows / elapsed, maxStallMs: h.max / 1e6, p99StallMs: h.percentile(99) / 1e6 };
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
console.log(`model ${path}, ${seconds}s per run; raw and runner runs interleaved 3 times (the host may be shared)`);
for (let round = 1; round <= 3; round++) {
  console.log(`[${round}] raw session, main thread, batch 1024: ${fmt(await raw(1024))} rows/s`);
  for (const [req, window] of [[1024, 8], [1, 4096]] as const) {
    const m = await viaRunner(req, window, 2);
    console.log(`[${round}] runner, 2 workers, maxBatchSize 1024, requests of ${req} row(s) x ${window} outstanding: ${fmt(m.rowsPerSec)} rows/s; event loop max stall ${m.maxStallMs.toFixed(1)} ms, p99 ${m.p99StallMs.toFixed(1)} ms`);
  }
}
