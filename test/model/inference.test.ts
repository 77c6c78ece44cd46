import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { SluiceError } from '../../src/core/errors.js';
import { ModelRunner, type ModelOutput } from '../../src/model/index.js';
import { writeMlp } from '../../scripts/build-models.js';
import { writeModel } from '../../scripts/onnx/proto.js';
import { SMALL_MLP, directRun, randomRows, tmpDir, writeOddModel } from './helpers.js';

const ROWS = 1000;
const data = randomRows(ROWS, 8);
// Request sizes summing to 1000, one of them (400) larger than the small batch sizes.
const SIZES = [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 400, 144, 225];

async function scoreAll(runner: ModelRunner): Promise<Float32Array> {
  let at = 0;
  // wait: true, since at maxBatchSize 1 the default queue bound is only 16 rows.
  const parts = await Promise.all(SIZES.map((n) => runner.infer(data.subarray((at += n) * 8 - n * 8, at * 8), n, { wait: true })));
  const out = new Float32Array(ROWS);
  at = 0;
  for (const [i, p] of parts.entries()) {
    assert.deepEqual(p.score!.dims, [SIZES[i], 1]);
    out.set(p.score!.data, at);
    at += SIZES[i]!;
  }
  return out;
}

test('reads metadata from the session', async () => {
  const r = await ModelRunner.load({ name: 'small', path: SMALL_MLP, workers: 1 });
  try {
    assert.deepEqual(r.inputs, [{ name: 'features', type: 'float32', dims: ['N', 8] }]);
    assert.deepEqual(r.outputs, [{ name: 'score', type: 'float32', dims: ['N', 1] }]);
    assert.equal(r.featureCount, 8);
    assert.equal(r.executionProvider, 'cpu');
    assert.deepEqual(r.stats(), { queuedRows: 0, waiting: 0, inFlightBatches: 0, workers: 1, inlineMaxRows: 0, inlineBatches: 0 });
  } finally {
    await r.close();
  }
});

test('same rows give the same scores at maxBatchSize 1, 7 and 1024, equal to a direct run', async () => {
  const ref = (await directRun(SMALL_MLP, data, [ROWS, 8])).score!.data as Float32Array;
  const results: Float32Array[] = [];
  for (const maxBatchSize of [1, 7, 1024]) {
    const r = await ModelRunner.load({ name: 'small', path: SMALL_MLP, workers: 2, maxBatchSize });
    try {
      results.push(await scoreAll(r));
    } finally {
      await r.close();
    }
  }
  assert.deepEqual(results[1], results[0]);
  assert.deepEqual(results[2], results[0]);
  for (let i = 0; i < ROWS; i++) assert.ok(Math.abs(results[0]![i]! - ref[i]!) <= 1e-6, `row ${i}: ${results[0]![i]} vs ${ref[i]}`);
});

test('concurrent requests of different sizes get their own rows back; a big one is split and reassembled', async () => {
  const dir = tmpDir();
  const path = join(dir, 'mlp3.onnx');
  writeMlp(path, { inputs: 5, hidden: [16], outputs: 3, seed: 7 }); // 3 outputs per row: checks the stride
  const x = randomRows(600, 5, 9);
  const ref = (await directRun(path, x, [600, 5])).score!.data as Float32Array;
  const r = await ModelRunner.load({ name: 'mlp3', path, workers: 2, maxBatchSize: 64 });
  try {
    const sizes = [1, 5, 17, 300, 2, 275];
    let at = 0;
    const jobs = sizes.map((n) => {
      const start = at;
      at += n;
      return r.infer(x.subarray(start * 5, at * 5), n).then((o: ModelOutput) => ({ start, n, o }));
    });
    for (const { start, n, o } of await Promise.all(jobs)) {
      assert.deepEqual(o.score!.dims, [n, 3]);
      const want = ref.subarray(start * 3, (start + n) * 3);
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(o.score!.data[i]! - want[i]!) <= 1e-6, `request at ${start}, value ${i}`);
    }
    assert.equal(x.length, 3000, 'caller data is not detached');
  } finally {
    await r.close();
  }
});

test('converts int64/bool outputs; a model error fails the whole batch with MODEL_ERROR and the runner stays usable', async () => {
  const path = join(tmpDir(), 'odd.onnx');
  writeOddModel(path);
  const r = await ModelRunner.load({ name: 'odd', path, workers: 1, maxQueueDelayMs: 20 });
  try {
    const ok = await r.infer(new Float32Array([1.5, -2, 3.2, 0, -1, -1, -1, -1]), 2);
    assert.ok(ok.idx!.data instanceof Float64Array);
    assert.deepEqual([...ok.idx!.data], [2, 0]);
    assert.ok(ok.pos!.data instanceof Int32Array);
    assert.deepEqual([...ok.pos!.data], [1, 0, 1, 0, 0, 0, 0, 0]);
    assert.deepEqual([...ok.picked!.data], [10, 60, 30, 0, 70, 70, 70, 70]);
    // Both requests land in one batch (20 ms delay); the bad row fails both.
    const good = r.infer(new Float32Array([1, 1, 1, 1]), 1);
    const bad = r.infer(new Float32Array([100, 0, 0, 0]), 1);
    for (const p of [good, bad]) {
      await assert.rejects(p, (e: SluiceError) => e.code === 'MODEL_ERROR' && /model "odd"/.test(e.message) && /Gather|indices|out of bounds/i.test(e.message));
    }
    assert.deepEqual([...(await r.infer(new Float32Array([2, 2, 2, 2]), 1)).picked!.data], [20, 20, 20, 20]);
    await assert.rejects(r.infer(new Float32Array(3), 1), (e: SluiceError) => e.code === 'INVALID_INPUT');
  } finally {
    await r.close();
  }
});

test('a fixed batch size is padded to; a symbolic width is taken from each request', async () => {
  const dir = tmpDir();
  const relu = (name: string, dims: (number | string)[]) =>
    writeModel(join(dir, name), { name, inputs: [{ name: 'x', type: 'float', dims }], outputs: [{ name: 'y', type: 'float', dims }], nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }], initializers: [] });
  relu('fixed.onnx', [4, 3]);
  relu('sym.onnx', ['N', 'F']);
  const fixed = await ModelRunner.load({ name: 'fixed', path: join(dir, 'fixed.onnx'), workers: 1 });
  const sym = await ModelRunner.load({ name: 'sym', path: join(dir, 'sym.onnx'), workers: 1 });
  try {
    assert.equal(fixed.featureCount, 3);
    const [a, b] = await Promise.all([fixed.infer(new Float32Array([1, -2, 3]), 1), fixed.infer(new Float32Array(18).map((_, i) => i - 9), 6)]);
    assert.deepEqual([...a.y!.data], [1, 0, 3]);
    assert.deepEqual([...b.y!.data], [...new Float32Array(18).map((_, i) => Math.max(0, i - 9))]);
    assert.equal(sym.featureCount, null);
    const [c, d] = await Promise.all([sym.infer(new Float32Array([-1, 5, 6]), 1), sym.infer(new Float32Array([2, -2, -3, 3]), 2)]);
    assert.deepEqual([c.y!.dims, [...c.y!.data]], [[1, 3], [0, 5, 6]]);
    assert.deepEqual([d.y!.dims, [...d.y!.data]], [[2, 2], [2, 0, 0, 3]]);
  } finally {
    await Promise.all([fixed.close(), sym.close()]);
  }
});
