import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

/**
 * The raw-onnxruntime ceiling: one session in this worker, running prepared batches
 * back to back for a fixed time. No queue, no copies, no framework. With `rows` (real
 * feature rows, `features` values each) the batches are cut from them in turn, since a
 * tree model's cost depends on the values (the paths they take); without, one synthetic
 * batch of values in [-1, 1]. `fetches` names the outputs to return (default all).
 */
const { path, batch, features, threads, seconds, rows, fetches } = workerData as {
  path: string;
  batch: number;
  features: number;
  threads: number;
  seconds: number;
  rows?: Float32Array;
  fetches?: string[];
};
const session = await ort.InferenceSession.create(path, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' });
const input = session.inputNames[0]!;
const batches: Float32Array[] = [];
if (rows && rows.length >= batch * features) {
  for (let at = 0; at + batch * features <= rows.length; at += batch * features) batches.push(rows.slice(at, at + batch * features));
} else {
  batches.push(new Float32Array(batch * features).map((_, i) => ((i * 7919) % 1000) / 500 - 1));
}
const feeds = batches.map((data) => ({ [input]: new ort.Tensor('float32', data, [batch, features]) }));
const run = (i: number) => (fetches?.length ? session.run(feeds[i % feeds.length]!, fetches) : session.run(feeds[i % feeds.length]!));
for (let i = 0; i < 20; i++) await run(i);
parentPort!.postMessage({ ready: true });
parentPort!.once('message', async () => {
  let done = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) await run(done++);
  const elapsed = (performance.now() - start) / 1000;
  await session.release();
  parentPort!.postMessage({ rows: done * batch, elapsed });
});
