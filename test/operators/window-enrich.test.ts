import { test } from 'node:test';
import assert from 'node:assert/strict';
import { windowOperator } from '../../src/operators/window.js';
import type { StreamRecord } from '../../src/core/record.js';
import { Harness, rec, runWindowWithRestart } from '../state/helpers.js';

type Config = Parameters<typeof windowOperator.create>[0];
const aggregates = { n: { count: {} }, total: { sum: 'amount' }, top: { max: 'amount' }, mean: { avg: 'amount' } };

async function setup(config: Partial<Config>) {
  const h = new Harness();
  const op = await h.create(windowOperator, { window: { tumbling: 10 }, aggregates, emit: 'enrich', ...config } as Config, 'win');
  return { h, op };
}
const a = (key: string, t: number, amount = 1) => rec({ amount }, key, t);
/** key@t n=… total=… of each passed record. */
const brief = (rs: StreamRecord[]) => rs.map((r) => `${r.key}@${r.timestamp} n=${String(r.value.n)} total=${String(r.value.total)}`);

test('tumbling: each record passes on with its key\'s previous window, never its own', async () => {
  const { h, op } = await setup({});
  const input = [a('a', 1), a('a', 5, 3), a('a', 10, 2), a('b', 13), a('a', 15, 4), a('a', 19), a('a', 25), a('a', 31), a('a', 45)];
  const out = await h.run(op, input);
  assert.deepEqual(brief(out), [
    'a@1 n=null total=null', // [-10, 0): nothing
    'a@5 n=null total=null',
    'a@10 n=2 total=4', // [0, 10): t=1 and t=5; t=10 starts a new slide and is not in it
    'b@13 n=null total=null', // b's [0, 10) is empty
    'a@15 n=2 total=4', // still [0, 10): the record at 10 is in [10, 20)
    'a@19 n=2 total=4',
    'a@25 n=3 total=7', // [10, 20): 10, 15, 19
    'a@31 n=1 total=1', // [20, 30)
    'a@45 n=1 total=1', // [30, 40): 31
  ]);
  assert.equal(out[2], input[2], 'the input records themselves, changed in place');
  assert.deepEqual(out[6]!.value, { amount: 1, n: 3, total: 7, top: 4, mean: 7 / 3 });
  assert.deepEqual(out[0]!.value, { amount: 1, n: null, total: null, top: null, mean: null });
  assert.ok(out.every((r) => r.headers['sluice-window'] === undefined), 'no window results');
  // Closing windows on a later batch or at the end of input emits nothing either.
  assert.deepEqual(brief(await h.run(op, [a('a', 100)])), ['a@100 n=null total=null']);
  assert.deepEqual(await op.onEnd!(h.ctx(op)), []);
  assert.equal(h.dead.length, 0);
});

test('sliding 30/10: the window that ends at the start of the record\'s slide', async () => {
  const { h, op } = await setup({ window: { sliding: { size: 30, slide: 10 } } });
  const out = await h.run(op, [a('a', 0, 1), a('a', 9, 2), a('a', 12, 4), a('a', 29, 8), a('a', 30, 16), a('a', 39, 32), a('a', 40, 64), a('a', 75, 128)]);
  assert.deepEqual(
    out.map((r) => `${r.timestamp}:${String(r.value.total)}`),
    // t in [10,20) reads [-20,10); [20,30) reads [-10,20); [30,40) reads [0,30); [40,50) reads [10,40); [70,80) reads [40,70)
    ['0:null', '9:null', '12:3', '29:7', '30:15', '39:15', '40:60', '75:64'],
  );
});

test('a size that is not a multiple of the slide reads the latest window that ended by the record', async () => {
  // Windows [10k, 10k + 25): a record at 47 reads [20, 45), the latest that ends <= 47.
  const { h, op } = await setup({ window: { sliding: { size: 25, slide: 10 } } });
  const out = await h.run(op, [a('a', 19, 1), a('a', 20, 2), a('a', 44, 4), a('a', 45, 8), a('a', 47, 16), a('a', 54, 32), a('a', 55, 64)]);
  // 44 reads [10, 35) = 19, 20; 45..54 read [20, 45) = 20, 44; 55 reads [30, 55) = 44, 45, 47, 54.
  assert.deepEqual(out.map((r) => `${r.timestamp}:${String(r.value.total)}`), ['19:null', '20:null', '44:3', '45:6', '47:6', '54:6', '55:60']);
});

test('late records go to the dead letter (or the late sink) without being enriched', async () => {
  const { h, op } = await setup({ late: 'late_out' });
  const out = await h.run(op, [a('a', 5), a('a', 25), a('a', 7), a('a', 21, 5), a('a', 33)]);
  assert.deepEqual(brief(out), ['a@5 n=null total=null', 'a@25 n=null total=null', 'a@21 n=null total=null', 'a@33 n=2 total=6']);
  assert.deepEqual(h.emitted.get('late_out')!.map((r) => [r.timestamp, r.value]), [[7, { amount: 1 }]]);
});

test('bad inputs are dead-lettered and not counted; session windows and keyFields are refused', async () => {
  const { h, op } = await setup({});
  const out = await h.run(op, [a('a', 1), rec({ amount: 'x' }, 'a', 2), rec({ amount: 1 }, null, 3), a('a', 12)]);
  assert.deepEqual(brief(out), ['a@1 n=null total=null', 'a@12 n=1 total=1']);
  assert.deepEqual(h.dead.map((d) => d.error.code), ['INVALID_INPUT', 'INVALID_INPUT']);

  const issues: string[] = [];
  const ctx = { models: {}, sinks: [], issue: (p: (string | number)[], m: string) => void issues.push(`${p.join('.')}: ${m}`), requireModel: () => {}, requireSink: () => {}, expression: () => {} };
  windowOperator.check!({ window: { session: { gap: '1m' } }, aggregates: { window_end: { count: {} } }, emit: 'enrich', keyFields: ['user'] } as never, ctx);
  assert.deepEqual(issues, [
    'emit: emit: enrich needs tumbling or sliding windows; session windows have no fixed "previous window" to read',
    'keyFields: keyFields shapes window results, which emit: enrich does not send; remove it',
  ]);
  assert.throws(() => windowOperator.create({ window: { session: { gap: 10 } }, aggregates, emit: 'enrich' } as Config, new Harness().deps, 'w'), /emit: enrich needs tumbling or sliding windows/);
});

test('an input that goes on after the end of a bounded one merges the window closed early with its new part', async () => {
  const { h, op } = await setup({});
  await h.run(op, [a('a', 1), a('a', 2)]);
  await op.onEnd!(h.ctx(op)); // closes [0, 10) early, as at the end of a backfill; the watermark stays at 2
  h.commit(op);
  const out = await h.run(op, [a('a', 5, 10), a('a', 12)]);
  assert.deepEqual(brief(out), ['a@5 n=null total=null', 'a@12 n=3 total=12']);
});

// ---- batch splits and restarts, against a direct model of the semantics ----

/** 400 records over 6 keys, roughly in time order but up to ±60 ms out of it. */
function input(): StreamRecord[] {
  let seed = 11;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return Array.from({ length: 400 }, (_, i) => rec({ amount: Math.floor(rnd() * 100) }, `k${Math.floor(rnd() * 6)}`, i * 5 + Math.floor(rnd() * 120) - 60));
}

const mod = (x: number, m: number) => ((x % m) + m) % m;

/**
 * The semantics written out directly: the watermark (max event time − maxOutOfOrderness)
 * before each record decides which of its windows are open; a record is late when none
 * is; otherwise it reads the records of its key added before it to the window
 * [E − size, E), E the latest window end <= t, then joins its open windows.
 */
function model(records: StreamRecord[], size: number, slide: number, ooo: number, lateness: number) {
  let maxT = -Infinity;
  let wm = -Infinity;
  const added: { key: string; amount: number; starts: Set<number> }[] = [];
  const out: string[] = [];
  let late = 0;
  for (const r of records) {
    const t = r.timestamp;
    const starts = new Set<number>();
    for (let s = t - mod(t, slide); s > t - size; s -= slide) if (s + size + lateness > wm) starts.add(s);
    if (!starts.size) late++;
    else {
      const e = t - size - mod(t - size, slide) + size;
      const xs = added.filter((x) => x.key === r.key && x.starts.has(e - size)).map((x) => x.amount);
      const v = xs.length ? { n: xs.length, total: xs.reduce((p, q) => p + q, 0), top: Math.max(...xs), mean: xs.reduce((p, q) => p + q, 0) / xs.length } : { n: null, total: null, top: null, mean: null };
      out.push(JSON.stringify([r.key, t, { amount: r.value.amount, ...v }]));
      added.push({ key: r.key!, amount: r.value.amount as number, starts });
    }
    if (t > maxT) {
      maxT = t;
      wm = Math.max(wm, t - ooo);
    }
  }
  return { out, late };
}

async function runAll(config: Config, records: StreamRecord[], size: number, restartAt?: number, cacheEntries?: number) {
  const batches = Array.from({ length: Math.ceil(records.length / size) }, (_, i) => records.slice(i * size, i * size + size));
  const { out, late, h, op } = await runWindowWithRestart(windowOperator, config, batches, restartAt, cacheEntries);
  out.push(...((await op.onEnd!(h.ctx(op))) ?? []));
  return { out: out.map((r) => JSON.stringify([r.key, r.timestamp, r.value])), late: late + h.dead.length };
}

for (const [name, window, size, slide] of [
  ['tumbling', { tumbling: 100 }, 100, 100],
  ['sliding', { sliding: { size: 90, slide: 30 } }, 90, 30],
  ['sliding, size not a multiple of slide', { sliding: { size: 70, slide: 30 } }, 70, 30],
] as const) {
  test(`${name}: batch sizes 1, 7 and 1000 and restarts give the same records as the model`, async () => {
    for (const [ooo, lateness] of [
      [0, 0],
      [20, 10],
    ] as const) {
      const config = { window, aggregates, emit: 'enrich', maxOutOfOrderness: ooo, allowedLateness: lateness } as Config;
      const records = input();
      const want = model(records, size, slide, ooo, lateness);
      const whole = await runAll(config, records, 1000);
      assert.deepEqual(whole, want, `ooo ${ooo}: one batch`);
      assert.ok(want.out.filter((s) => s.includes('"n":null')).length < want.out.length / 2, 'most records find a previous window');
      if (ooo) assert.ok(want.late > 0, 'the input exercises lateness');
      assert.deepEqual(await runAll(config, records, 1), want, `ooo ${ooo}: batches of 1`);
      assert.deepEqual(await runAll(config, records, 7), want, `ooo ${ooo}: batches of 7`);
      assert.deepEqual(await runAll(config, records, 13, 11), want, `ooo ${ooo}: restart after batch 11`);
      assert.deepEqual(await runAll(config, records, 7, 20, 2), want, `ooo ${ooo}: restart with a cache too small to hold the keys`);
    }
  });
}

test('fired windows are kept only while a record could still read them', async () => {
  const { h, op } = await setup({ window: { sliding: { size: 30, slide: 10 } }, maxOutOfOrderness: 25 });
  for (let t = 0; t < 2000; t += 3) await h.run(op, [a('a', t)]);
  // Kept windows end after watermark − size − slide − lateness: at most 5 of them.
  const kept = [...h.store.data.entries()].filter(([k]) => k.includes('/closed/'));
  assert.equal(kept.length, 1);
  const list = JSON.parse(kept[0]![1].toString())[0] as { end: number }[];
  assert.ok(list.length >= 1 && list.length <= 5, `kept ${list.length}`);
});
