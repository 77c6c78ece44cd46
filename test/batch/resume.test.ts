import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, killAtCheckpoint, readParts, temporaryParts } from './helpers.js';

const ROWS = 200_000;

test('a backfill killed with SIGKILL at several points resumes to output every input record exactly once', { timeout: 180_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-resume-'));
  try {
    let text = '';
    for (let i = 0; i < ROWS; i++) text += i % 10_007 === 5 ? 'not json\n' : `{"id": ${i}, "x": ${i % 97}}\n`;
    await writeFile(join(dir, 'in.jsonl'), text);
    const bad = Math.floor((ROWS - 6) / 10_007) + 1;
    await writeFile(
      join(dir, 'job.yaml'),
      `name: resume
sources: { in: { type: file, path: in.jsonl, format: jsonl } }
pipeline:
  - map: { set: { y: "x * 2" } }
  - sink: out
sinks:
  out: { type: file, path: out, format: parquet }
  dlq: { type: file, path: dlq, format: jsonl }
deadLetter: dlq
runtime: { batchSize: 2000, checkpointIntervalMs: 0 }
`,
    );
    const args = ['backfill', join(dir, 'job.yaml'), '--data-dir', join(dir, 'data'), '--no-progress'];
    // A checkpoint per batch (100 in all); each run is killed right after the checkpoint
    // it reports as its 10th, 25th, 5th: well past one, with most of the input still to do,
    // whatever the machine's speed.
    for (const at of [10, 25, 5]) {
      const kill = killAtCheckpoint(at);
      const r = await cli(args, kill);
      assert.equal(r.signal, 'SIGKILL', `the run should be killed after its checkpoint ${at} (saw ${kill.seen()}): ${r.stderr.slice(-400)}`);
    }
    const last = await cli(args);
    assert.equal(last.code, 0, last.stderr);
    const out = await readParts(join(dir, 'out'));
    const ids = out.map((r) => r.id as number);
    assert.equal(ids.length, ROWS - bad, 'every good record once');
    assert.equal(new Set(ids).size, ids.length, 'no duplicates');
    assert.ok(out.every((r) => r.y === (r.x as number) * 2));
    const dead = await readParts(join(dir, 'dlq'));
    assert.equal(dead.length, bad, 'every bad record dead-lettered once');
    assert.deepEqual(await temporaryParts(join(dir, 'out')), [], 'no half-written part is left looking finished');
    const again = await cli(args);
    assert.match(again.stderr, /nothing to read: this backfill had already finished/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
