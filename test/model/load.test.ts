import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { memoryLogger } from '../../src/core/logger.js';
import type { SluiceError } from '../../src/core/errors.js';
import { createMetrics } from '../../src/metrics/registry.js';
import { ModelRunner } from '../../src/model/index.js';
import { SMALL_MLP, randomRows, tmpDir, writeTwoInputModel } from './helpers.js';

test('a cuda request falls back to cpu with a log line and a metric', async (t) => {
  const logger = memoryLogger();
  const metrics = createMetrics();
  const r = await ModelRunner.load({ name: 'gpu', path: SMALL_MLP, workers: 2, executionProviders: ['cuda'], logger, metrics });
  try {
    t.diagnostic(`provider used: ${r.executionProvider}`);
    const out = await r.infer(randomRows(3, 8), 3);
    assert.deepEqual(out.score!.dims, [3, 1]);
    if (r.executionProvider === 'cuda') return; // a working GPU: no fallback to check
    assert.equal(r.executionProvider, 'cpu');
    assert.equal(logger.lines.filter((l) => l.includes('WARN') && l.includes('fallback')).length, 1, logger.lines.join('\n'));
    const fallbacks = (await metrics.modelProviderFallbacks.get()).values;
    assert.deepEqual(fallbacks.map((v) => [v.labels, v.value]), [[{ model: 'gpu', requested: 'cuda' }, 1]]);
  } finally {
    await r.close();
  }
});

test('missing, non-ONNX and unsupported models fail with MODEL_LOAD_FAILED naming the path', async () => {
  const dir = tmpDir();
  const junk = join(dir, 'junk.onnx');
  writeFileSync(junk, 'this is not a model');
  const two = join(dir, 'two.onnx');
  writeTwoInputModel(two);
  const cases: [string, RegExp][] = [
    [join(dir, 'missing.onnx'), /file not found/],
    [junk, /Protobuf parsing failed|parse/i],
    [two, /exactly one float32 input.*2 input\(s\): a: float32 \[N,4\]; b: int64 \[N,1\]/],
  ];
  for (const [path, reason] of cases) {
    await assert.rejects(ModelRunner.load({ name: 'm', path, workers: 2 }), (e: SluiceError) => {
      assert.equal(e.code, 'MODEL_LOAD_FAILED');
      assert.ok(e.message.startsWith(`model "m": cannot load "${path}": `), e.message);
      assert.match(e.message, reason);
      return true;
    });
  }
});

test('close and reload three times', async () => {
  const x = randomRows(64, 8);
  let first: Float32Array | undefined;
  for (let i = 0; i < 3; i++) {
    const r = await ModelRunner.load({ name: 'again', path: SMALL_MLP, workers: 2, maxBatchSize: 16 });
    const out = (await Promise.all([r.infer(x, 64), r.infer(x.subarray(0, 8), 1)]))[0]!.score!.data as Float32Array;
    first ??= out;
    assert.deepEqual(out, first);
    await r.close();
    assert.equal(r.stats().workers, 0);
  }
});

test('a worker thread that dies is replaced', async () => {
  // Killed while idle: terminating a thread inside session.run can abort the process
  // (onnxruntime-node's Napi::Error), so a batch in flight is not part of this test.
  const logger = memoryLogger();
  const r = await ModelRunner.load({ name: 'crash', path: SMALL_MLP, workers: 1, logger });
  try {
    const thread = (r as unknown as { workers: { worker: { terminate(): Promise<number> } }[] }).workers[0]!.worker;
    await thread.terminate();
    assert.deepEqual((await r.infer(randomRows(4, 8), 4)).score!.dims, [4, 1]);
    assert.equal(r.stats().workers, 1);
    assert.ok(logger.lines.some((l) => l.includes('worker thread died')));
  } finally {
    await r.close();
  }
});

test('fetch: only the named outputs come back; an unknown name is a topology error', async () => {
  const model = fileURLToPath(new URL('../../../examples/flight-delay/model/flight-delay.onnx', import.meta.url));
  const all = await ModelRunner.load({ name: 'all', path: model, workers: 1 });
  const some = await ModelRunner.load({ name: 'some', path: model, workers: 1, fetch: ['probabilities'] });
  try {
    const rows = randomRows(5, 9);
    const [a, b] = await Promise.all([all.infer(rows, 5), some.infer(rows, 5)]);
    assert.deepEqual(Object.keys(a).sort(), ['label', 'probabilities']);
    assert.deepEqual(Object.keys(b), ['probabilities']);
    assert.deepEqual(b.probabilities, a.probabilities);
  } finally {
    await Promise.all([all.close(), some.close()]);
  }
  await assert.rejects(ModelRunner.load({ name: 'bad', path: model, workers: 1, fetch: ['nope'] }), (e: SluiceError) => e.code === 'INVALID_TOPOLOGY' && /no output "nope"; its outputs: label, probabilities/.test(e.message));
});
