import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

function sluice(args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [resolve('bin/sluice.js'), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(input ?? '');
    child.on('exit', (code) => done({ code, stdout, stderr }));
  });
}

test('topics create, produce and consume against the embedded log', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-cli-'));
  try {
    const d = ['--data-dir', dir];
    assert.equal((await sluice(['topics', 'create', 'ev', '--partitions', '2', ...d])).code, 0);
    const produced = await sluice(['topics', 'produce', 'ev', '--key', 'k', ...d], '{"k": "a", "n": 1}\n{"k": "b", "n": 2}\n\n{"k": "a", "n": 3}\n');
    assert.equal(produced.code, 0, produced.stderr);
    assert.match(produced.stderr, /produced 3 record\(s\) to ev/);
    const listed = await sluice(['topics', 'list', ...d]);
    assert.match(listed.stdout, /ev\tpartitions=2\trecords=3/);
    const consumed = await sluice(['topics', 'consume', 'ev', ...d]);
    const rows = consumed.stdout.trim().split('\n').map((l) => JSON.parse(l) as { key: string; value: { n: number }; partition: number });
    assert.deepEqual(rows.map((r) => r.value.n).sort(), [1, 2, 3]);
    const byKey = new Map(rows.map((r) => [r.key, r.partition]));
    assert.equal(rows.filter((r) => r.key === 'a').every((r) => r.partition === byKey.get('a')), true, 'one key, one partition');
    assert.match((await sluice(['topics', 'consume', 'nope', ...d])).stderr, /NOT_FOUND: .*"nope".*ev/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('validate prints the problem with file and line and exits non-zero; unknown commands are named', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-cli-'));
  try {
    const file = join(dir, 't.yaml');
    await writeFile(file, 'name: t\nsources: { s: { type: topic, topic: s } }\npipeline:\n  - mapp: {}\n  - sink: o\nsinks: { o: { type: stdout } }\nonError: fail\n');
    const r = await sluice(['validate', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:4 pipeline\\[0\\]: unknown operator "mapp"`));
    await writeFile(file, 'name: t\nsources: { s: { type: topic, topic: s } }\npipeline:\n  - sink: o\nsinks: { o: { type: stdout } }\nonError: fail\n');
    const ok = await sluice(['validate', file]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /valid topology "t"/);
    const unknown = await sluice(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"; commands: run, serve, backfill, validate, topics/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('validate names each repartition hop: the keyBy, its internal topic and when it applies', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-cli-'));
  try {
    const file = join(dir, 't.yaml');
    await writeFile(file, `name: hop
sources: { in: { type: topic, topic: in } }
pipeline:
  - keyBy: { id: by-user, key: user }
  - aggregate: { id: n, aggregates: { n: { count: {} } } }
  - keyBy: { key: region, partitions: 4 }
  - window: { id: w, window: { tumbling: 1h }, aggregates: { c: { count: {} } } }
  - keyBy: { key: user }
  - sink: out
sinks: { out: { type: stdout } }
onError: fail
`);
    const r = await sluice(['validate', file]);
    assert.equal(r.code, 0, r.stderr);
    const hops = r.stdout.split('\n').filter((l) => l.includes('repartition:'));
    assert.deepEqual(hops, [
      '  repartition: pipeline[0] keyBy "by-user" feeds keyed state, so records go through the internal topic "hop-by-user-repartition" (when the input has more than one partition; partitions: the most of any input)',
      '  repartition: pipeline[2] keyBy "keyBy-2" feeds keyed state, so records go through the internal topic "hop-keyBy-2-repartition" (always; partitions: 4)',
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
