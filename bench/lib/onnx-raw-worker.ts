import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

/**
 * The raw-onnxruntime ceiling: one session in this worker, running the same
 * prepared batch back to back for a fixed time. No queue, no copies, no framework.
 */
const { path, batch, features, threads, seconds } = workerData as { path: string; batch: number; features: number; threads: number; seconds: number };
const session = await ort.InferenceSession.create(path, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' });
const input = session.inputNames[0]!;
const data = new Float32Array(batch * features).map((_, i) => ((i * 7919) % 1000) / 500 - 1);
const feeds = { [input]: new ort.Tensor('float32', data, [batch, features]) };
for (let i = 0; i < 20; i++) await session.run(feeds);
parentPort!.postMessage({ ready: true });
parentPort!.once('message', async () => {
  let rows = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    await session.run(feeds);
    rows += batch;
  }
  const elapsed = (performance.now() - start) / 1000;
  await session.release();
  parentPort!.postMessage({ rows, elapsed });
});
