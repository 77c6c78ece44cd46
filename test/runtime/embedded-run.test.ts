import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedLog } from '../../connectors/embedded/index.js';
import { memoryLogger } from '../../src/core/logger.js';
import { Job } from '../../src/runtime/job.js';
import { topology } from '../../src/topology/builder.js';

/** The finished part files of a file sink, concatenated in name order; temporary parts must be gone. */
async function parts(dir: string): Promise<string> {
  const names = (await readdir(dir)).sort();
  assert.deepEqual(names.filter((n) => n.startsWith('.')), [], 'no temporary parts are left');
  let text = '';
  for (const n of names) text += await readFile(join(dir, n), 'utf8');
  return text;
}

async function values(log: EmbeddedLog, topic: string): Promise<Record<string, unknown>[]> {
  const recs = await log.read(topic, 0, 0, 10_000);
  return recs.map((r) => JSON.parse(String(r.value)) as Record<string, unknown>);
}

test('a topic job dead-letters undecodable records with the reason and resumes from its committed position', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-run-'));
  const log = await EmbeddedLog.open(dir);
  try {
    await log.createTopic('in', 1);
    await log.produce('in', ['{"x": 1}', '{"x": ', '[1, 2]', '{"x": 4}'].map((value) => ({ key: null, value, timestamp: 1 })));
    const def = topology('resume')
      .source('in', { type: 'topic', topic: 'in' })
      .map({ set: { y: 'x * 10' } })
      .to('out')
      .sink('out', { type: 'topic', topic: 'out' })
      .sink('dlq', { type: 'topic', topic: 'dlq' })
      .deadLetter('dlq')
      .build();
    const first = await (await Job.start(def, { log, untilIdle: true, logger: memoryLogger() })).done;
    assert.deepEqual({ in: first.recordsIn, out: first.recordsOut, dead: first.deadLettered }, { in: 4, out: 2, dead: 2 });
    assert.deepEqual(await values(log, 'out'), [{ x: 1, y: 10 }, { x: 4, y: 40 }]);
    const dead = await values(log, 'dlq');
    assert.equal(dead.length, 2);
    assert.deepEqual(dead.map((d) => (d.error as { code: string }).code), ['DECODE_ERROR', 'DECODE_ERROR']);
    assert.match((dead[0]!.error as { message: string }).message, /not valid JSON/);
    assert.equal(dead[0]!.raw, '{"x": ');
    assert.match((dead[1]!.error as { message: string }).message, /expected a JSON object, got a list/);
    assert.deepEqual(dead[1]!.position, { source: 'in', partition: 0, offset: 2 });

    await log.produce('in', [{ key: null, value: '{"x": 5}', timestamp: 2 }]);
    const second = await (await Job.start(def, { log, untilIdle: true, logger: memoryLogger() })).done;
    assert.equal(second.recordsIn, 1, 'the second run starts where the first committed');
    assert.deepEqual((await values(log, 'out')).at(-1), { x: 5, y: 50 });
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('file sources and sinks: JSONL and CSV in, JSONL and CSV out, bad lines dead-lettered', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-files-'));
  try {
    await writeFile(join(dir, 'a.jsonl'), '{"n": 1}\nnot json\n{"n": 2}\n');
    await writeFile(join(dir, 'b.csv'), 'n,label\n3,c\n4\n5,"e, f"\n');
    const def = topology('files')
      .source('j', { type: 'file', path: '*.jsonl', format: 'jsonl' })
      .source('c', { type: 'file', path: '*.csv', format: 'csv' })
      .map({ set: { double: 'n * 2' } })
      .route({ routes: [{ when: 'n < 3', to: 'small' }], default: 'big' })
      .sink('small', { type: 'file', path: 'out/small', format: 'jsonl' })
      .sink('big', { type: 'file', path: 'out/big', format: 'csv', columns: ['n', 'double', 'label'] })
      .sink('dlq', { type: 'file', path: 'out/dlq', format: 'jsonl' })
      .deadLetter('dlq')
      .build();
    const summary = await (await Job.start({ definition: def, baseDir: dir }, { untilIdle: true, dataDir: join(dir, 'data'), logger: memoryLogger() })).done;
    assert.equal(summary.status, 'completed');
    assert.deepEqual({ in: summary.recordsIn, out: summary.recordsOut, dead: summary.deadLettered }, { in: 6, out: 4, dead: 2 });
    assert.equal(await parts(join(dir, 'out/small')), '{"n":1,"double":2}\n{"n":2,"double":4}\n');
    assert.equal(await parts(join(dir, 'out/big')), 'n,double,label\n3,6,c\n5,10,"e, f"\n');
    const dead = (await parts(join(dir, 'out/dlq'))).trim().split('\n').map((l) => JSON.parse(l) as { error: { message: string } });
    assert.equal(dead.length, 2);
    assert.ok(dead.some((d) => /a\.jsonl:2: not valid JSON/.test(d.error.message)));
    assert.ok(dead.some((d) => /b\.csv:3: expected 2 columns/.test(d.error.message)));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('with a checkpoint interval, a live job commits what it staged once the interval passes, even with no more input', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-run-'));
  const log = await EmbeddedLog.open(dir);
  try {
    await log.createTopic('in', 1);
    await log.produce('in', [1, 2, 3].map((x) => ({ key: 'k', value: JSON.stringify({ x }), timestamp: x })));
    const def = topology('idle-commit')
      .source('in', { type: 'topic', topic: 'in' })
      .step('aggregate', { id: 'agg', aggregates: { total: { sum: 'x' } } })
      .to('out')
      .sink('out', { type: 'topic', topic: 'out' })
      .sink('dlq', { type: 'topic', topic: 'dlq' })
      .deadLetter('dlq')
      .runtime({ checkpointIntervalMs: 300 })
      .build();
    const job = await Job.start(def, { log, logger: memoryLogger() });
    try {
      const deadline = Date.now() + 5000;
      while (log.endOffset('out', 0) < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual((await values(log, 'out')).map((v) => v.total), [1, 3, 6], 'outputs committed while the source is idle');
      assert.ok(await log.getKv('state/idle-commit/in-0/agg/aggregates/k'), 'the state change committed with them');
    } finally {
      await job.stop();
    }
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
});
