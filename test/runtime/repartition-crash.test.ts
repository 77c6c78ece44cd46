import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EmbeddedLog } from '../../connectors/embedded/index.js';
import { cli } from '../batch/helpers.js';

const N = 90_000;
const USERS = 300;
const TOPOLOGY = `name: rpcrash
sources: { in: { type: topic, topic: in } }
pipeline:
  - keyBy: { id: by-user, key: user }
  - aggregate: { id: running, aggregates: { n: { count: {} }, total: { sum: amount } } }
  - window: { id: per-minute, window: { tumbling: 1m }, aggregates: { spend: { sum: amount }, c: { count: {} } }, keyFields: [user] }
  - sink: out
sinks: { out: { type: topic, topic: out }, dlq: { type: topic, topic: dlq } }
deadLetter: dlq
runtime: { batchSize: 500 }
`;

/** The metric value of one step's records in, from the job's own /metrics. */
async function stepRecordsIn(url: string, step: string): Promise<number> {
  const text = await (await fetch(url)).text();
  const m = new RegExp(`^sluice_operator_records_in_total\\{operator="${step.replace(/\./g, '\\.')}"\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/**
 * Runs the job and SIGKILLs it once the step `step` has taken `atLeast` records, as its
 * own metrics report (a point inside stage 1 or stage 2 of the hop, not a guessed delay).
 * Resolves with how the process ended.
 */
function runAndKill(args: string[], step: string, atLeast: number): Promise<{ killed: boolean; code: number | null; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [resolve('bin/sluice.js'), ...args, '--metrics-port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let polling = false;
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(stderr);
      if (!m || polling) return;
      polling = true;
      const url = m[1]!;
      const poll = async (): Promise<void> => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const n = await stepRecordsIn(url, step).catch(() => 0);
        if (n >= atLeast) child.kill('SIGKILL');
        else setTimeout(() => void poll(), 20);
      };
      void poll();
    });
    child.on('exit', (code, signal) => done({ killed: signal === 'SIGKILL', code, stderr }));
  });
}

async function snapshot(dir: string): Promise<{ out: string[]; dead: number; state: string[] }> {
  const log = await EmbeddedLog.open(dir);
  try {
    const out: string[] = [];
    for (let p = 0; p < log.requireTopic('out').partitions; p++) for (const r of await log.read('out', p, 0, 1_000_000)) out.push(`${r.key}|${r.value}`);
    const dead = log.topic('dlq') ? (await log.read('dlq', 0, 0, 1_000_000)).length : 0;
    // The aggregate's per-key state (count, sum) does not depend on the order keys arrive in
    // from the three upstream tasks; the window's progress records a position in the hop
    // topic, which does, so it is left out.
    const state: string[] = [];
    for await (const [k, v] of log.scanKv('state/rpcrash/')) if (k.includes('/running/')) state.push(`${k}=${v.toString()}`);
    return { out: out.sort(), dead, state };
  } finally {
    await log.close();
  }
}

test('repartitioned job killed with SIGKILL inside each stage and restarted: outputs and keyed state equal an uninterrupted run and a 1-partition run', { timeout: 300_000 }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'sluice-rp-crash-'));
  try {
    const records = Array.from({ length: N }, (_, n) => ({
      key: `id${n}`,
      value: JSON.stringify({ user: `u${(n * 7919) % USERS}`, amount: (n % 13) + 1 }),
      timestamp: 1_700_000_000_000 + n * 50,
    }));
    for (const [name, partitions] of [['seed3', 3], ['seed1', 1]] as const) {
      const seed = await EmbeddedLog.open(join(root, name));
      await seed.createTopic('in', partitions);
      for (let i = 0; i < N; i += 10_000) await seed.produce('in', records.slice(i, i + 10_000));
      await seed.close();
    }
    await writeFile(join(root, 't.yaml'), TOPOLOGY);
    await cp(join(root, 'seed3'), join(root, 'reference'), { recursive: true });
    await cp(join(root, 'seed3'), join(root, 'crashed'), { recursive: true });

    const ref = await cli(['run', join(root, 't.yaml'), '--until-idle', '--data-dir', join(root, 'reference')]);
    assert.equal(ref.code, 0, ref.stderr);
    assert.match(ref.stderr, /⇄ rpcrash-by-user-repartition\s+90000 written \/ 90000 read \(repartition\)/);
    assert.match(ref.stderr, /records in\s+90000\n/);
    const single = await cli(['run', join(root, 't.yaml'), '--until-idle', '--data-dir', join(root, 'seed1')]);
    assert.equal(single.code, 0, single.stderr);

    const args = ['run', join(root, 't.yaml'), '--until-idle', '--data-dir', join(root, 'crashed')];
    // Kill points reported by the job itself: mid stage 1 (records written to the hop), then mid stage 2.
    const points: [string, number][] = [['by-user.repartition', 15_000], ['per-minute', 8_000], ['by-user.repartition', 20_000], ['per-minute', 12_000]];
    let kills = 0;
    for (const [step, atLeast] of points) {
      const r = await runAndKill(args, step, atLeast);
      if (r.killed) kills++;
      else assert.equal(r.code, 0, r.stderr);
    }
    assert.ok(kills >= 3, `the job should have been killed mid-run at least 3 times (got ${kills})`);
    const last = await cli(args);
    assert.equal(last.code, 0, last.stderr);

    const want = await snapshot(join(root, 'reference'));
    const got = await snapshot(join(root, 'crashed'));
    const one = await snapshot(join(root, 'seed1'));
    assert.equal(want.dead, 0, 'no late records across the hop');
    assert.equal(got.dead, 0);
    let c = 0;
    for (const line of want.out) c += (JSON.parse(line.slice(line.indexOf('|') + 1)) as { c: number }).c;
    assert.equal(c, N, 'every record is in exactly one window of the reference run');
    assert.equal(got.out.length, want.out.length, 'no window result lost or duplicated');
    assert.deepEqual(got.out, want.out);
    assert.deepEqual(one.out, want.out, 'the same window results as a 1-partition run');
    assert.equal(want.state.length, USERS);
    assert.deepEqual(got.state, want.state);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
