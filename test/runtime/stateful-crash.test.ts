import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedLog } from '../../connectors/embedded/index.js';
import { cli, killAtCheckpoint } from '../batch/helpers.js';

const N = 240_000;
const KEYS = 500;
const TOPOLOGY = `name: crash
sources: { in: { type: topic, topic: in } }
pipeline:
  - aggregate: { id: running, aggregates: { n: { count: {} }, total: { sum: amount }, top: { max: amount } } }
  - window: { id: hourly, window: { tumbling: 1h }, aggregates: { spend: { sum: amount }, count: { count: {} } }, keyFields: [user], emit: update }
  - sink: out
sinks: { out: { type: topic, topic: out }, dlq: { type: topic, topic: dlq } }
deadLetter: dlq
runtime: { batchSize: 500 }
`;

async function snapshot(dir: string): Promise<{ out: string[]; state: string[] }> {
  const log = await EmbeddedLog.open(dir);
  try {
    const out: string[] = [];
    for (let p = 0; p < log.requireTopic('out').partitions; p++) {
      for (let pos = 0; ; ) {
        const recs = await log.read('out', p, pos, 50_000);
        if (!recs.length) break;
        for (const r of recs) out.push(`${r.key}|${r.value}`);
        pos = recs[recs.length - 1]!.offset + 1;
      }
    }
    const state: string[] = [];
    for await (const [k, v] of log.scanKv('state/crash/')) state.push(`${k}=${v.toString()}`);
    return { out, state };
  } finally {
    await log.close();
  }
}

test('a stateful job killed with SIGKILL at several checkpoints and restarted ends with the outputs and state of an uninterrupted run', { timeout: 240_000 }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'sluice-state-crash-'));
  try {
    const seed = await EmbeddedLog.open(join(root, 'seed'));
    await seed.createTopic('in', 2);
    for (let i = 0; i < N; i += 10_000) {
      await seed.produce('in', Array.from({ length: 10_000 }, (_, j) => {
        const n = i + j;
        const user = `u${(n * 7919) % KEYS}`;
        return { key: user, value: JSON.stringify({ user, amount: (n % 13) + 1, n }), timestamp: 1_700_000_000_000 + n * 50 };
      }));
    }
    await seed.close();
    await writeFile(join(root, 't.yaml'), TOPOLOGY);
    await cp(join(root, 'seed'), join(root, 'reference'), { recursive: true });
    await cp(join(root, 'seed'), join(root, 'crashed'), { recursive: true });

    const ref = await cli(['run', join(root, 't.yaml'), '--until-idle', '--data-dir', join(root, 'reference')]);
    assert.equal(ref.code, 0, ref.stderr);

    const args = ['run', join(root, 't.yaml'), '--until-idle', '--data-dir', join(root, 'crashed')];
    // A checkpoint per batch of 500 per task (about 480 in all, over both tasks); each run is
    // killed right after the checkpoint it reports as its 40th, 90th, 20th, 60th.
    for (const at of [40, 90, 20, 60]) {
      const kill = killAtCheckpoint(at);
      const r = await cli(args, kill);
      assert.equal(r.signal, 'SIGKILL', `the run should be killed after its checkpoint ${at} (saw ${kill.seen()}): ${r.stderr.slice(-400)}`);
    }
    const last = await cli(args);
    assert.equal(last.code, 0, last.stderr);

    const want = await snapshot(join(root, 'reference'));
    const got = await snapshot(join(root, 'crashed'));
    assert.ok(want.out.length > N, 'every record and every window update was written');
    assert.equal(got.out.length, want.out.length, 'no output lost or duplicated');
    // Window results are emitted at the end of the batch that closes them, and a restart
    // resumes with different batch boundaries, so compare the outputs as multisets.
    assert.deepEqual([...got.out].sort(), [...want.out].sort());
    assert.deepEqual(got.state, want.state);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a damaged data directory or unreadable state stops with a message that says how to recover', async () => {
  const root = await mkdtemp(join(tmpdir(), 'sluice-corrupt-'));
  try {
    await writeFile(join(root, 't.yaml'), TOPOLOGY);
    const log = await EmbeddedLog.open(join(root, 'd'));
    await log.createTopic('in', 1);
    await log.produce('in', [{ key: 'u1', value: '{"user": "u1", "amount": 1}', timestamp: 1 }]);
    await log.commit({ kv: [{ key: 'state/crash/in-0/running/aggregates/u1', value: Buffer.from('{not json') }] });
    await log.close();
    const bad = await cli(['run', join(root, 't.yaml'), '--until-idle', '--data-dir', join(root, 'd')]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /STATE_CORRUPT: state "aggregates" .* is unreadable.*--fresh/);
    const fresh = await cli(['run', join(root, 't.yaml'), '--until-idle', '--fresh', '--data-dir', join(root, 'd')]);
    assert.equal(fresh.code, 0, fresh.stderr);

    await writeFile(join(root, 'd', 'CURRENT'), 'garbage\n');
    const damaged = await cli(['run', join(root, 't.yaml'), '--until-idle', '--data-dir', join(root, 'd')]);
    assert.notEqual(damaged.code, 0);
    assert.match(damaged.stderr, /STATE_CORRUPT: embedded log at ".*" is damaged and cannot be opened .* move the directory aside or delete it/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
