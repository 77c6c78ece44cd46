import { resolve } from 'node:path';
import { ModelRunner } from '../../src/model/index.js';
import type { Benchmark } from '../lib/benchmark.js';
import { rawOnnxRowsPerSecond } from '../lib/ceilings.js';
import { medianOf, result, round } from '../lib/result.js';
import type { BenchResult } from '../lib/result.js';

const CASES = [
  { model: 'small-mlp', label: 'small MLP [N,8]→64→1', features: 8, batch: 1024 },
  { model: 'wide-mlp', label: 'wide MLP [N,64]→512→512→1', features: 64, batch: 512 },
  { model: 'small-mlp', label: 'small MLP [N,8]→64→1', features: 8, batch: 1 },
];

/** Rows/s through ModelRunner.infer with enough requests in flight to keep every worker busy. */
async function runnerRate(runner: ModelRunner, batch: number, features: number, seconds: number): Promise<number> {
  const data = new Float32Array(batch * features).map((_, i) => ((i * 7919) % 1000) / 500 - 1);
  const end = performance.now() + seconds * 1000;
  let rows = 0;
  const start = performance.now();
  const lane = async (): Promise<void> => {
    while (performance.now() < end) {
      await runner.infer(data.slice(), batch, { wait: true });
      rows += batch;
    }
  };
  await Promise.all(Array.from({ length: batch === 1 ? 64 : 8 }, lane));
  return rows / ((performance.now() - start) / 1000);
}

export const modelRunner: Benchmark = {
  name: 'model-runner',
  mode: 'model',
  description: 'ModelRunner.infer (queue, dynamic batching, 2 worker threads) vs raw onnxruntime sessions in the same worker layout, same model and batch size',
  async run() {
    const out: BenchResult[] = [];
    for (const c of CASES) {
      const path = resolve(`models/${c.model}.onnx`);
      const runner = await ModelRunner.load({ name: c.model, path, workers: 2, maxBatchSize: Math.max(c.batch, 1024), maxQueueDelayMs: 1 });
      const rate = await medianOf(3, () => runnerRate(runner, c.batch, c.features, 2));
      await runner.close();
      const raw = await rawOnnxRowsPerSecond({ path, batch: c.batch, features: c.features, workers: 2, seconds: 2 });
      out.push(
        result({
          benchmark: 'model-runner',
          name: `model-runner ${c.model} batch ${c.batch}`,
          mode: 'model',
          metric: 'rows_per_s',
          value: round(rate),
          unit: 'rows/s',
          ceiling: { name: `raw onnxruntime, batch ${c.batch}, 2 workers`, value: round(raw) },
          params: { model: c.label, request_rows: c.batch, workers: 2, intraOpNumThreads: 1 },
        }),
      );
    }
    return out;
  },
};
