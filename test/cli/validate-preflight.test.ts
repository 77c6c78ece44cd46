// `sluice validate` refuses what `run` would refuse at start, each with file and line:
// model files that are missing or not ONNX, feature counts and output tensors that do
// not match the model, UDF modules that are missing or lack the export, file source
// paths and globs that match nothing. A topology without such problems validates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cli } from '../batch/helpers.js';

const MODEL = JSON.stringify(resolve('models/small-mlp.onnx'));
const UDFS = JSON.stringify(resolve('test/fixtures/udfs.mjs'));
const F8 = 'f0, f1, f2, f3, f4, f5, f6, f7';

/** A topology file: one file source, `steps` as pipeline lines, a sink; lines are numbered from 1. */
function topology(o: { model?: string; source?: string; steps: string[] }): string {
  return [
    'name: pre', // 1
    `models: { m: { path: ${o.model ?? MODEL}, workers: 1 } }`, // 2
    'sources:', // 3
    `  in: { type: file, path: ${o.source ?? 'in.jsonl'}, format: jsonl }`, // 4
    'pipeline:', // 5
    ...o.steps, // 6…
    '  - sink: out',
    'sinks: { out: { type: stdout } }',
    'onError: fail',
  ].join('\n') + '\n';
}

async function validate(text: string): Promise<{ code: number | null; stderr: string; stdout: string; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-validate-'));
  try {
    await writeFile(join(dir, 'in.jsonl'), '{"f0": 1}\n');
    await writeFile(join(dir, 'not-a-model.onnx'), 'hello');
    const file = join(dir, 't.yaml');
    await writeFile(file, text);
    return { ...(await cli(['validate', file])), file };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

test('a topology whose models, UDFs and files are all there validates', async () => {
  const r = await validate(topology({ steps: [`  - map: { udf: { module: ${UDFS}, export: addTax } }`, `  - score: { model: m, features: [${F8}], outputs: { p: "score[0]" } }`] }));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /valid topology "pre"/);
});

test('a missing model file and a file that is not ONNX are reported at the model\'s path line', async () => {
  const missing = await validate(topology({ model: 'nowhere/m.onnx', steps: [`  - score: { model: m, features: [${F8}] }`] }));
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, new RegExp(`${esc(missing.file)}:2 models\\.m\\.path: model "m": cannot load ".*nowhere/m\\.onnx": file not found`));
  const bad = await validate(topology({ model: 'not-a-model.onnx', steps: [`  - score: { model: m, features: [${F8}] }`] }));
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, new RegExp(`${esc(bad.file)}:2 models\\.m\\.path: model "m": cannot load ".*not-a-model\\.onnx"`));
});

test('a feature count and an output tensor that do not match the model are reported at their lines', async () => {
  const r = await validate(topology({ steps: ['  - score:', '      model: m', '      features: [a, b, c]', '      outputs: { p: "probabilities[1]" }'] }));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /invalid topology \(2 problems\)/);
  assert.match(r.stderr, new RegExp(`${esc(r.file)}:8 pipeline\\[0\\]\\.score\\.features: model "m" takes 8 features per row, but 3 are listed`));
  assert.match(r.stderr, new RegExp(`${esc(r.file)}:9 pipeline\\[0\\]\\.score\\.outputs\\.p: model "m" has no output "probabilities"; its outputs: score`));
});

test('a missing UDF module and a missing export are reported at their lines', async () => {
  const r = await validate(topology({ steps: ['  - map:', '      udf: { module: ./nope.mjs, export: f }', '  - filter:', `      udf: { module: ${UDFS}, export: isOdd }`] }));
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`${esc(r.file)}:7 pipeline\\[0\\]\\.map\\.udf\\.module: cannot load UDF module "\\./nope\\.mjs"`));
  assert.match(r.stderr, new RegExp(`${esc(r.file)}:9 pipeline\\[1\\]\\.filter\\.udf\\.export: UDF module ".*udfs\\.mjs" has no function export "isOdd"; its exports: addTax, bigId`));
});

test('file source paths and globs that match nothing are reported at the source\'s line', async () => {
  for (const path of ['missing.jsonl', '"data/*.jsonl"', '"**/*.parquet"']) {
    const r = await validate(topology({ source: path, steps: [] }));
    assert.equal(r.code, 1, path);
    assert.match(r.stderr, new RegExp(`${esc(r.file)}:4 sources\\.in\\.path: no files match`), path);
  }
  const glob = await validate(topology({ source: '"*.jsonl"', steps: [] }));
  assert.equal(glob.code, 0, glob.stderr);
});
