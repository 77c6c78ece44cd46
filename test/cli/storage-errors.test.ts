// A bad day under `sluice backfill`: a full disk under a Parquet sink, a sink path that
// is a file, a sink folder or data directory this process may not write, an output
// tensor the model lacks. Each gives a non-zero exit and one line saying what and where
// (never a stack trace); once the cause is gone, the same command completes and the
// output holds every input record exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createParquetWriter } from '../../connectors/parquet/index.js';
import { readParts } from '../batch/helpers.js';
import { fullDisk, readOnly, run, sluiceCmd, unmount } from './fs-helpers.js';

const ROWS = 20_000;
// More than a Parquet row group (100,000 rows): full groups are written between checkpoints.
const MANY = 250_000;

async function setup(sinkPath: string, extra = '', rows = ROWS): Promise<{ dir: string; topology: string; backfill: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-storage-'));
  const w = await createParquetWriter(join(dir, 'in.parquet'), { rowGroupSize: 2000 });
  // Strings that do not compress, so the output is large enough to fill a small disk.
  await w.writeRows(Array.from({ length: rows }, (_, i) => ({ id: i, tag: `t${(i * 2654435761) % 1000003}-${i.toString(36)}`, x: i / 7 })));
  await w.close();
  const topology = join(dir, 't.yaml');
  await writeFile(topology, [
    'name: storage',
    extra,
    'sources: { in: { type: file, path: in.parquet, format: parquet } }',
    'pipeline:',
    '  - sink: out',
    'sinks:',
    `  out: { type: file, path: ${sinkPath}, format: parquet }`,
    '  dlq: { type: file, path: dlq, format: jsonl }',
    'deadLetter: dlq',
    // Checkpoints far apart: a write fails between two of them, as in a long backfill.
    'runtime: { batchSize: 2000, checkpointIntervalMs: 600000 }',
  ].join('\n'));
  return { dir, topology, backfill: ['backfill', topology, '--no-progress', '--data-dir', join(dir, 'data')] };
}

/** The one line the CLI printed for the failure; asserts there is no stack trace. */
function failureLine(stderr: string, code: string): string {
  assert.doesNotMatch(stderr, /^\s+at /m, `a stack trace:\n${stderr}`);
  assert.doesNotMatch(stderr, /Unhandled|triggerUncaughtException/);
  const lines = stderr.split('\n').filter((l) => l.includes(`${code}:`));
  assert.equal(lines.length, 1, `one ${code} line in:\n${stderr}`);
  return lines[0]!;
}

async function assertExactlyOnce(outDir: string, rows = ROWS): Promise<void> {
  const ids = (await readParts(outDir)).map((r) => Number(r.id)).sort((a, b) => a - b);
  assert.equal(ids.length, rows);
  assert.ok(ids.every((id, i) => id === i), 'every record exactly once');
}

test('a full disk under a Parquet sink is STORAGE_ERROR with the path; a rerun with space resumes exactly once', { timeout: 120_000 }, async () => {
  const { dir, backfill } = await setup('disk/out', '', MANY);
  const disk = fullDisk(join(dir, 'disk'), 512);
  try {
    const first = await run(disk.wrap(sluiceCmd(...backfill)));
    assert.equal(first.code, 1, `${disk.how}: ${first.stderr}`);
    const line = failureLine(first.stderr, 'STORAGE_ERROR');
    assert.match(line, new RegExp(`${join(dir, 'disk/out').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}/\\.part-in-0000-\\d+\\.parquet\\.tmp: write failed: (ENOSPC|EFBIG)`));
    disk.release();
    const again = await run(disk.wrap(sluiceCmd(...backfill)));
    assert.equal(again.code, 0, again.stderr);
    await assertExactlyOnce(join(dir, 'disk/out'), MANY);
  } finally {
    unmount(join(dir, 'disk'));
    await rm(dir, { recursive: true, force: true });
  }
});

test('a sink path that is an existing file is one line naming the sink and the path; a rerun without it completes', { timeout: 60_000 }, async () => {
  const { dir, backfill } = await setup('blocked/out');
  try {
    await writeFile(join(dir, 'blocked'), 'not a folder\n');
    const first = await run(sluiceCmd(...backfill));
    assert.equal(first.code, 1);
    const line = failureLine(first.stderr, 'INVALID_TOPOLOGY');
    assert.match(line, /file sink "out": cannot use ".*\/blocked\/out" as its folder: the path \(or a folder above it\) is an existing file/);
    await rm(join(dir, 'blocked'));
    const again = await run(sluiceCmd(...backfill));
    assert.equal(again.code, 0, again.stderr);
    await assertExactlyOnce(join(dir, 'blocked/out'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a sink folder that cannot be created is one line naming the sink and the path; a rerun with access completes', { timeout: 60_000 }, async () => {
  const { dir, backfill } = await setup('locked/out');
  await mkdir(join(dir, 'locked'));
  const lock = readOnly(join(dir, 'locked'));
  try {
    const first = await run(lock.wrap(sluiceCmd(...backfill)));
    assert.equal(first.code, 1, `${lock.how}: ${first.stderr}`);
    const line = failureLine(first.stderr, 'STORAGE_ERROR');
    assert.match(line, /file sink "out": cannot use ".*\/locked\/out" as its folder: permission denied: this process may not create or write that folder/);
    lock.release();
    const again = await run(sluiceCmd(...backfill));
    assert.equal(again.code, 0, again.stderr);
    await assertExactlyOnce(join(dir, 'locked/out'));
  } finally {
    lock.release();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a data directory this process may not write is a permission problem, not STATE_CORRUPT; the data survives', { timeout: 60_000 }, async () => {
  const { dir, backfill } = await setup('out');
  // A healthy log: created by a first open, then made unwritable.
  const created = await run(sluiceCmd('topics', 'create', 'keep', '--data-dir', join(dir, 'data')));
  assert.equal(created.code, 0, created.stderr);
  const lock = readOnly(join(dir, 'data'));
  try {
    const first = await run(lock.wrap(sluiceCmd(...backfill)));
    assert.equal(first.code, 1, `${lock.how}: ${first.stderr}`);
    assert.doesNotMatch(first.stderr, /STATE_CORRUPT|delete it/);
    const line = failureLine(first.stderr, 'STORAGE_ERROR');
    assert.match(line, /embedded log at ".*\/data": permission denied .*may not write the data directory.*the data in it is not damaged/);
    lock.release();
    const again = await run(sluiceCmd(...backfill));
    assert.equal(again.code, 0, again.stderr);
    await assertExactlyOnce(join(dir, 'out'));
    const topics = await run(sluiceCmd('topics', 'list', '--data-dir', join(dir, 'data')));
    assert.match(topics.stdout, /^keep\t/m, 'the log kept its topic');
  } finally {
    lock.release();
    await rm(dir, { recursive: true, force: true });
  }
});

test('an output tensor the model lacks is INVALID_TOPOLOGY, not MODEL_LOAD_FAILED; the fixed topology completes', { timeout: 60_000 }, async () => {
  const model = `models: { m: { path: ${JSON.stringify(resolve('models/small-mlp.onnx'))}, workers: 1 } }`;
  const { dir, topology, backfill } = await setup('out', model);
  try {
    const { readFile } = await import('node:fs/promises');
    const plain = await readFile(topology, 'utf8');
    const scoring = (ref: string) => plain.replace('  - sink: out', `  - map: { set: { f0: "x", f1: "x", f2: "x", f3: "x", f4: "x", f5: "x", f6: "x", f7: "x" } }\n  - score: { model: m, features: [f0, f1, f2, f3, f4, f5, f6, f7], outputs: { p: "${ref}" } }\n  - sink: out`);
    await writeFile(topology, scoring('nope[0]'));
    const first = await run(sluiceCmd(...backfill));
    assert.equal(first.code, 1);
    const line = failureLine(first.stderr, 'INVALID_TOPOLOGY');
    assert.match(line, /model "m" \(.*small-mlp\.onnx\): the model has no output "nope"; its outputs: score; fix the score step's outputs/);
    assert.doesNotMatch(first.stderr, /MODEL_LOAD_FAILED/);
    await writeFile(topology, scoring('score[0]'));
    const again = await run(sluiceCmd(...backfill));
    assert.equal(again.code, 0, again.stderr);
    await assertExactlyOnce(join(dir, 'out'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
