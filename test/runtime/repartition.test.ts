import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedLog } from '../../connectors/embedded/index.js';
import { memoryLogger } from '../../src/core/logger.js';
import { Job, type JobSummary } from '../../src/runtime/job.js';
import { runTopology } from '../../src/testing/index.js';
import { topology } from '../../src/topology/builder.js';
import type { TopologyDefinition } from '../../src/topology/schema.js';

const N = 3000;
const USERS = 40;
const T0 = Date.UTC(2026, 0, 1);

/** Input records keyed by their id (so one user's records land in every partition), in event-time order. */
function input(): { key: string; value: string; timestamp: number; headers: Record<string, string> }[] {
  return Array.from({ length: N }, (_, n) => ({
    key: `r${n}`,
    value: JSON.stringify({ user: `u${(n * 7) % USERS}`, amount: (n % 11) + 1, seq: n }),
    timestamp: T0 + n * 1000,
    headers: { trace: `t${n}` },
  }));
}

function counting(keyBy: Record<string, unknown> = { key: 'user' }): TopologyDefinition {
  return topology('rp')
    .source('in', { type: 'topic', topic: 'in' })
    .keyBy({ id: 'by-user', ...keyBy } as never)
    .step('aggregate', { id: 'running', aggregates: { n: { count: {} }, total: { sum: 'amount' } } })
    .to('out')
    .sink('out', { type: 'topic', topic: 'out' })
    .sink('dlq', { type: 'topic', topic: 'dlq' })
    .deadLetter('dlq')
    .runtime({ batchSize: 97 })
    .build();
}

function windowed(): TopologyDefinition {
  return topology('rw')
    .source('in', { type: 'topic', topic: 'in' })
    .keyBy({ id: 'by-user', key: 'user' })
    .step('window', { id: 'per-minute', window: { tumbling: '1m' }, aggregates: { spend: { sum: 'amount' }, c: { count: {} } }, keyFields: ['user'] })
    .to('out')
    .sink('out', { type: 'topic', topic: 'out' })
    .sink('dlq', { type: 'topic', topic: 'dlq' })
    .deadLetter('dlq')
    .runtime({ batchSize: 97 })
    .build();
}

async function readAll(log: EmbeddedLog, topic: string) {
  const out = [];
  for (let p = 0; p < log.requireTopic(topic).partitions; p++) out.push(...(await log.read(topic, p, 0, 1_000_000)));
  return out;
}

/** Runs a topology over the input spread on `partitions` partitions, until idle; returns what it wrote. */
async function run(def: TopologyDefinition, partitions: number, setup?: (log: EmbeddedLog) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-repartition-'));
  const log = await EmbeddedLog.open(dir);
  try {
    await log.createTopic('in', partitions);
    await log.produce('in', input());
    await setup?.(log);
    const summary = await (await Job.start(def, { log, untilIdle: true, logger: memoryLogger() })).done;
    return { summary, out: await readAll(log, 'out'), dead: await readAll(log, 'dlq'), topics: log.listTopics().map((t) => `${t.name}:${t.partitions}`) };
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function expectedCounts(): Map<string, { n: number; total: number }> {
  const m = new Map<string, { n: number; total: number }>();
  for (let n = 0; n < N; n++) {
    const u = `u${(n * 7) % USERS}`;
    const c = m.get(u) ?? { n: 0, total: 0 };
    c.n++;
    c.total += (n % 11) + 1;
    m.set(u, c);
  }
  return m;
}

function assertCountsReconcile(s: JobSummary, topic: string): void {
  assert.equal(s.status, 'completed', s.error);
  assert.equal(s.recordsIn, N, 'records in counts the source reads only, not the hop');
  assert.deepEqual(s.repartitioned, { [topic]: { written: N, read: N } });
}

test('keyBy + aggregate on a 3-partition input keyed differently: each key counted once, same results as a 1-partition run', { timeout: 60_000 }, async () => {
  const three = await run(counting(), 3);
  const one = await run(counting(), 1);
  assertCountsReconcile(three.summary, 'rp-by-user-repartition');
  assert.equal(three.summary.recordsOut, N);
  assert.deepEqual(three.summary.bySink, { out: N }, 'the hop is not an output');
  assert.equal(one.summary.repartitioned, undefined, 'a single partition needs no hop');
  assert.ok(three.topics.includes('rp-by-user-repartition:3'), `the hop topic has the input's partitions: ${three.topics.join(', ')}`);
  assert.equal(three.dead.length, 0);

  // Every user's running count reaches the number of its records exactly once: one task holds each key.
  const want = expectedCounts();
  const last = new Map<string, { n: number; total: number }>();
  const pairs: string[] = [];
  for (const r of three.out) {
    const v = JSON.parse(String(r.value)) as { user: string; n: number; total: number };
    assert.equal(r.key, v.user, 'records after keyBy are keyed by the new key');
    pairs.push(`${v.user}#${v.n}`);
    const prev = last.get(v.user);
    if (!prev || v.n > prev.n) last.set(v.user, { n: v.n, total: v.total });
  }
  assert.deepEqual(Object.fromEntries([...last].sort()), Object.fromEntries([...want].sort()));
  assert.equal(new Set(pairs).size, N, 'no count is given twice');
  const onePairs = one.out.map((r) => { const v = JSON.parse(String(r.value)) as { user: string; n: number }; return `${v.user}#${v.n}`; });
  assert.deepEqual([...pairs].sort(), [...onePairs].sort(), 'the same (key, count) pairs as a 1-partition run');

  // Timestamps and headers survive the hop; the internal header does not leak.
  const byN = new Map(three.out.map((r) => [(JSON.parse(String(r.value)) as { seq: number }).seq, r]));
  for (const n of [0, 1, 1234, N - 1]) {
    const r = byN.get(n)!;
    assert.equal(r.timestamp, T0 + n * 1000);
    assert.deepEqual(r.headers, { trace: `t${n}` });
  }
});

test('event-time windows after the hop: the watermark follows the slowest upstream task, so no record is late and results equal a 1-partition run', { timeout: 60_000 }, async () => {
  const three = await run(windowed(), 3);
  const one = await run(windowed(), 1);
  assertCountsReconcile(three.summary, 'rw-by-user-repartition');
  assert.equal(three.dead.length, 0, `no late records: ${three.dead.slice(0, 2).map((d) => d.value).join('\n')}`);
  const rows = (out: { value: string | Buffer }[]) => out.map((r) => String(r.value)).sort();
  assert.ok(one.out.length > USERS, 'windows were emitted');
  assert.deepEqual(rows(three.out), rows(one.out));
  let c = 0;
  for (const r of three.out) c += (JSON.parse(String(r.value)) as { c: number }).c;
  assert.equal(c, N, 'every record is in exactly one window');
});

test('two hops in a row: each stage waits for the one before it, a bounded run ends, and results equal a 1-partition run', { timeout: 60_000 }, async () => {
  const def = topology('r2')
    .source('in', { type: 'topic', topic: 'in' })
    .keyBy({ id: 'by-user', key: 'user' })
    .step('aggregate', { id: 'running', aggregates: { n: { count: {} } } })
    .step('map', { set: { region: 'concat("r", string(amount % 3))' } })
    .keyBy({ id: 'by-region', key: 'region', partitions: 2 } as never)
    .step('window', { id: 'per-minute', window: { tumbling: '1m' }, aggregates: { c: { count: {} }, spend: { sum: 'amount' } }, keyFields: ['region'] })
    .to('out')
    .sink('out', { type: 'topic', topic: 'out' })
    .sink('dlq', { type: 'topic', topic: 'dlq' })
    .deadLetter('dlq')
    .runtime({ batchSize: 97 })
    .build();
  const three = await run(def, 3);
  const one = await run(def, 1);
  assert.equal(three.summary.status, 'completed', three.summary.error);
  assert.deepEqual(three.summary.repartitioned, { 'r2-by-user-repartition': { written: N, read: N }, 'r2-by-region-repartition': { written: N, read: N } });
  assert.deepEqual(one.summary.repartitioned, { 'r2-by-region-repartition': { written: N, read: N } }, 'one input partition: only the hop that asks for partitions');
  assert.equal(three.dead.length, 0);
  const rows = (out: { value: string | Buffer }[]) => out.map((r) => String(r.value)).sort();
  let c = 0;
  for (const r of three.out) c += (JSON.parse(String(r.value)) as { c: number }).c;
  assert.equal(c, N);
  assert.deepEqual(rows(three.out), rows(one.out));
});

test('keyBy partitions: sets the hop\'s partitions (even over one input partition); a changed count is refused until --fresh', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-repartition-'));
  const log = await EmbeddedLog.open(dir);
  try {
    await log.createTopic('in', 1);
    await log.produce('in', input());
    const s = await (await Job.start(counting({ key: 'user', partitions: 4 }), { log, untilIdle: true, logger: memoryLogger() })).done;
    assertCountsReconcile(s, 'rp-by-user-repartition');
    assert.equal(log.requireTopic('rp-by-user-repartition').partitions, 4);
    await assert.rejects(Job.start(counting({ key: 'user', partitions: 2 }), { log, untilIdle: true, logger: memoryLogger() }), /repartition topic "rp-by-user-repartition" has 4 partitions from an earlier run, but this run needs 2.*--fresh/);
    const again = await (await Job.start(counting({ key: 'user', partitions: 2 }), { log, untilIdle: true, fresh: true, logger: memoryLogger() })).done;
    assertCountsReconcile(again, 'rp-by-user-repartition');
    assert.equal(log.requireTopic('rp-by-user-repartition').partitions, 2);
    // --fresh started the hop over too: the second run counted from 1 again, nothing twice.
    const out = await readAll(log, 'out');
    assert.equal(out.length, 2 * N);
    const second = out.filter((r) => (JSON.parse(String(r.value)) as { n: number }).n === 1);
    assert.equal(second.length, 2 * USERS);
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a restart resumes both stages where they committed: new input is counted once, on top of the old state', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-repartition-'));
  const log = await EmbeddedLog.open(dir);
  try {
    await log.createTopic('in', 3);
    await log.produce('in', input().slice(0, N / 2));
    await (await Job.start(counting(), { log, untilIdle: true, logger: memoryLogger() })).done;
    await log.produce('in', input().slice(N / 2));
    const s = await (await Job.start(counting(), { log, untilIdle: true, logger: memoryLogger() })).done;
    assert.equal(s.recordsIn, N / 2);
    assert.deepEqual(s.repartitioned, { 'rp-by-user-repartition': { written: N / 2, read: N / 2 } });
    const last = new Map<string, number>();
    for (const r of await readAll(log, 'out')) {
      const v = JSON.parse(String(r.value)) as { user: string; n: number };
      last.set(v.user, Math.max(last.get(v.user) ?? 0, v.n));
    }
    assert.deepEqual(Object.fromEntries([...last].sort()), Object.fromEntries([...expectedCounts()].map(([k, v]) => [k, v.n]).sort()));
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a live repartitioned job processes new records as they come and stops cleanly', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-repartition-'));
  const log = await EmbeddedLog.open(dir);
  try {
    await log.createTopic('in', 3);
    const job = await Job.start(counting(), { log, logger: memoryLogger() });
    await log.produce('in', input().slice(0, 500));
    const outputs = async (n: number) => {
      for (let i = 0; i < 200; i++) {
        if ((await readAll(log, 'out')).length >= n) return;
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    await outputs(500);
    await log.produce('in', input().slice(500, 800));
    await outputs(800);
    const s = await job.stop();
    assert.equal(s.status, 'stopped', s.error);
    assert.equal(s.recordsIn, 800);
    assert.equal(s.recordsOut, 800);
    assert.deepEqual(s.repartitioned, { 'rp-by-user-repartition': { written: 800, read: 800 } });
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('the in-memory harness has no log for a hop: keyBy before state over several inputs is refused with the reason', async () => {
  const def = topology('h')
    .source('a', { type: 'topic', topic: 'a' })
    .source('b', { type: 'topic', topic: 'b' })
    .keyBy({ key: 'user' })
    .step('aggregate', { id: 'running', aggregates: { n: { count: {} } } })
    .to('out')
    .sink('out', { type: 'stdout' })
    .deadLetter('out')
    .build();
  await assert.rejects(runTopology(def, { a: [{ user: 'x' }], b: [{ user: 'x' }] }), /keyBy "keyBy-0": keyed state after it needs each key in one task; the 2 inputs would go through the repartition topic "h-keyBy-0-repartition", which needs the embedded log/);
});
