import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { runTopology } from '../../src/testing/index.js';
import { pipeline } from './helpers.js';

const FEATURES = ['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7'];

function rows(n: number, seed = 7): Record<string, unknown>[] {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 4 - 2;
  return Array.from({ length: n }, (_, i) => ({ id: i, ...Object.fromEntries(FEATURES.map((f) => [f, rnd()])) }));
}

function scored(batchSize: number, extra: Record<string, unknown> = {}) {
  return pipeline()
    .model('mlp', { path: 'models/small-mlp.onnx', maxBatchSize: batchSize, workers: 2 })
    .runtime({ batchSize })
    .score({ model: 'mlp', features: FEATURES, ...extra })
    .to('out')
    .build();
}

test('the same records scored at batch sizes 1, 7 and 1024 give identical outputs', async () => {
  const input = rows(300);
  const results = [];
  for (const size of [1, 7, 1024]) results.push((await runTopology(scored(size), { in: input })).outputs.out!);
  assert.equal(results[0]!.length, 300);
  assert.ok(results[0]!.every((r) => typeof r.score === 'number' && r.score > 0 && r.score < 1));
  assert.deepEqual(results[1], results[0]);
  assert.deepEqual(results[2], results[0]);
  assert.ok(new Set(results[0]!.map((r) => r.score)).size > 250, 'scores should differ between records');
});

test('each score is the one onnxruntime itself gives for the record\'s features', async () => {
  const input = rows(40, 11);
  const out = (await runTopology(scored(16), { in: input })).outputs.out!;
  // Independently of sluice's ModelRunner: one plain session over all 40 rows at once.
  const session = await ort.InferenceSession.create('models/small-mlp.onnx');
  try {
    const x = new Float32Array(input.flatMap((r) => FEATURES.map((f) => r[f] as number)));
    const expected = (await session.run({ features: new ort.Tensor('float32', x, [input.length, FEATURES.length]) })).score!.data as Float32Array;
    assert.deepEqual(out.map((r) => r.id), input.map((r) => r.id));
    for (let i = 0; i < input.length; i++) assert.equal(out[i]!.score, expected[i], `row ${i}`);
  } finally {
    await session.release();
  }
});

test('a missing feature is dead-lettered, or filled when the step says so', async () => {
  const input = rows(3);
  delete input[1]!.f3;
  const strict = await runTopology(scored(16), { in: input });
  assert.equal(strict.outputs.out!.length, 2);
  assert.equal(strict.deadLetters[0]!.error.code, 'MISSING_FEATURE');
  assert.match(strict.deadLetters[0]!.error.message, /feature "f3" is missing/);
  const filled = await runTopology(scored(16, { missing: { fill: 0 } }), { in: input });
  assert.equal(filled.outputs.out!.length, 3);
});

test('a non-numeric feature is dead-lettered with its value', async () => {
  const input = rows(2);
  input[0]!.f5 = 'twelve';
  const r = await runTopology(scored(16), { in: input });
  assert.equal(r.outputs.out!.length, 1);
  assert.equal(r.deadLetters[0]!.error.code, 'NON_NUMERIC_FEATURE');
  assert.match(r.deadLetters[0]!.error.message, /feature "f5" must be a finite number; got string "twelve"/);
});

test('outputs map tensor elements to named fields', async () => {
  const r = await runTopology(scored(16, { outputs: { p: 'score[0]' } }), { in: rows(2) });
  assert.equal(typeof r.outputs.out![0]!.p, 'number');
  assert.equal(r.outputs.out![0]!.score, undefined);
});

test('a feature list that does not fit the model fails at start', async () => {
  const def = pipeline().model('mlp', { path: 'models/small-mlp.onnx', workers: 1 }).score({ model: 'mlp', features: ['a', 'b'] }).to('out').build();
  await assert.rejects(runTopology(def, { in: [] }), /model "mlp" takes 8 features per row, but 2 are listed/);
});

test('a model file that is not ONNX fails at start with its path', async () => {
  const def = pipeline().model('bad', { path: 'package.json', workers: 1 }).score({ model: 'bad', features: ['a'] }).to('out').build();
  await assert.rejects(runTopology(def, { in: [] }), (err: Error & { code?: string }) => err.code === 'MODEL_LOAD_FAILED' && /package\.json/.test(err.message));
});

test('a feature beyond float32\'s range (finite in JavaScript) is dead-lettered naming the feature', async () => {
  const input = rows(4);
  input[1]!.f2 = 1e39;
  input[2]!.f6 = -1e308;
  const r = await runTopology(scored(16), { in: input });
  assert.deepEqual(r.outputs.out!.map((o) => o.id), [0, 3]);
  assert.equal(r.deadLetters.length, 2);
  assert.equal(r.deadLetters[0]!.error.code, 'NON_NUMERIC_FEATURE');
  assert.match(r.deadLetters[0]!.error.message, /feature "f2" is 1e\+39, outside float32's range/);
  assert.match(r.deadLetters[1]!.error.message, /feature "f6" is -1e\+308, outside float32's range .* -Infinity/);
});

test('a JSON 1e400 feature is reported as the Infinity it decodes to, not as null', async () => {
  const input = rows(1);
  input[0]!.f0 = JSON.parse('1e400');
  const r = await runTopology(scored(16), { in: input });
  assert.equal(r.outputs.out!.length, 0);
  assert.match(r.deadLetters[0]!.error.message, /feature "f0" must be a finite number; got number Infinity \(a number beyond/);
});

// small-mlp gives NaN for features of -3e38 (within float32's range): the first layer
// overflows to ±Infinity and the next sums Infinity with -Infinity.
test('a NaN model output is dead-lettered as MODEL_ERROR with the features, unless allowNaN', async () => {
  const input = rows(3);
  for (const f of FEATURES) input[1]![f] = -3e38;
  const r = await runTopology(scored(16), { in: input });
  assert.deepEqual(r.outputs.out!.map((o) => o.id), [0, 2]);
  assert.equal(r.deadLetters.length, 1);
  assert.equal(r.deadLetters[0]!.error.code, 'MODEL_ERROR');
  assert.match(r.deadLetters[0]!.error.message, /returned NaN in output "score" for features f0=-3\.0\d*e\+38, f1=/);
  const allowed = await runTopology(scored(16, { allowNaN: true }), { in: input });
  assert.equal(allowed.outputs.out!.length, 3);
  assert.ok(Number.isNaN(allowed.outputs.out![1]!.score));
  assert.deepEqual(allowed.deadLetters, []);
});
