// Extreme feature values through `sluice backfill` over Parquet (the columnar score path):
// the job completes (exit 0), each bad row is dead-lettered with a one-line reason naming
// the feature (or the NaN output and the features), in = out + dead-lettered; a rerun
// over the corrected file gives every record exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createParquetWriter } from '../../connectors/parquet/index.js';
import { cli, readParts } from '../batch/helpers.js';

const FEATURES = ['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7'];

async function writeInput(path: string, rows: Record<string, number>[]): Promise<void> {
  const w = await createParquetWriter(path);
  await w.writeRows(rows);
  await w.close();
}

test('features beyond float32 and NaN outputs are dead-lettered by a backfill, and a corrected rerun is exactly once', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bad-values-'));
  try {
    const rows: Record<string, number>[] = Array.from({ length: 50 }, (_, i) => ({ id: i, ...Object.fromEntries(FEATURES.map((f, j) => [f, ((i * 7 + j) % 11) / 5 - 1])) }));
    const bad = rows.map((r) => ({ ...r }));
    bad[3]!.f4 = 1e39; // finite in JavaScript, Infinity as float32
    for (const f of FEATURES) bad[10]![f] = -3e38; // small-mlp answers NaN
    await writeInput(join(dir, 'in.parquet'), bad);
    await writeFile(join(dir, 't.yaml'), [
      'name: extreme',
      `models: { m: { path: ${JSON.stringify(resolve('models/small-mlp.onnx'))}, workers: 1 } }`,
      'sources: { in: { type: file, path: in.parquet, format: parquet } }',
      'pipeline:',
      `  - score: { model: m, features: [${FEATURES.join(', ')}] }`,
      '  - sink: out',
      'sinks:',
      '  out: { type: file, path: out, format: jsonl }',
      '  dlq: { type: file, path: dlq, format: jsonl }',
      'deadLetter: dlq',
    ].join('\n'));
    const args = ['backfill', join(dir, 't.yaml'), '--no-progress', '--data-dir', join(dir, 'data'), '--fresh'];
    const first = await cli(args);
    assert.equal(first.code, 0, first.stderr);
    const dead = (await readParts(join(dir, 'dlq'))) as { error: { code: string; message: string }; position: { offset: number } }[];
    assert.deepEqual(dead.map((d) => [d.position.offset, d.error.code]), [[3, 'NON_NUMERIC_FEATURE'], [10, 'MODEL_ERROR']]);
    assert.match(dead[0]!.error.message, /^feature "f4" is 1e\+39, outside float32's range \(±3\.4e38\): the model would read it as Infinity$/);
    assert.match(dead[1]!.error.message, /^model "m" returned NaN in output "score" for features f0=-3\.\d+e\+38, .*f7=-3\.\d+e\+38 \(set allowNaN: true/);
    const out = await readParts(join(dir, 'out'));
    assert.equal(out.length + dead.length, rows.length);
    assert.ok(out.every((r) => typeof r.score === 'number' && !Number.isNaN(r.score)));

    // The cause removed: the same job over the corrected file.
    await writeInput(join(dir, 'in.parquet'), rows);
    const again = await cli(args);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await readParts(join(dir, 'dlq')), []);
    const ids = (await readParts(join(dir, 'out'))).map((r) => r.id as number).sort((a, b) => a - b);
    assert.deepEqual(ids, rows.map((r) => r.id));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
