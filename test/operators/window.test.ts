import { test } from 'node:test';
import assert from 'node:assert/strict';
import { windowOperator } from '../../src/operators/window.js';
import type { StreamRecord } from '../../src/core/record.js';
import { Harness, rec } from '../state/helpers.js';

type Config = Parameters<typeof windowOperator.create>[0];
const aggregates = { n: { count: {} }, total: { sum: 'amount' } };
const brief = (rs: StreamRecord[]) => rs.map((r) => `${r.key}[${r.value.window_start},${r.value.window_end}) n=${r.value.n}`);

async function setup(config: Partial<Config>) {
  const h = new Harness();
  const op = await h.create(windowOperator, { window: { tumbling: 10 }, aggregates, ...config } as Config, 'win');
  const a = (key: string, t: number, amount = 1) => rec({ amount }, key, t);
  return { h, op, a };
}

test('tumbling: out-of-order records within maxOutOfOrderness count; results carry key, bounds and time', async () => {
  const { h, op, a } = await setup({ maxOutOfOrderness: '5ms' });
  const out = await h.run(op, [a('a', 1), a('a', 12), a('a', 3, 2), a('b', 8), a('a', 16)]);
  assert.deepEqual(brief(out), ['a[0,10) n=2', 'b[0,10) n=1']);
  assert.deepEqual(out[0]!.value, { key: 'a', window_start: 0, window_end: 10, n: 2, total: 3 });
  assert.equal(out[0]!.timestamp, 9);
  assert.equal(out[0]!.headers['sluice-window'], 'final');
  assert.deepEqual(brief(await h.run(op, [a('a', 4), a('a', 30)])), ['a[10,20) n=2']);
  assert.equal(h.dead.length, 1);
  assert.match(h.dead[0]!.error.message, /window "win": late record: event time 1970-01-01T00:00:00.004Z belongs to windows that already closed \(watermark 1970-01-01T00:00:00.011Z/);
});

test('sliding: a record counts in every window that holds it', async () => {
  const { h, op, a } = await setup({ window: { sliding: { size: 20, slide: 10 } }, maxOutOfOrderness: 20 });
  const out = await h.run(op, [a('a', 25), a('a', 5), a('a', 15), a('a', 100)]);
  assert.deepEqual(brief(out), ['a[-10,10) n=1', 'a[0,20) n=2', 'a[10,30) n=2', 'a[20,40) n=1']);
});

test('session: out-of-order records merge sessions that overlap', async () => {
  const { h, op } = await setup({ window: { session: { gap: '10ms' } }, maxOutOfOrderness: 100, keyFields: ['user'] });
  const u = (key: string, t: number) => rec({ user: key, amount: 1 }, key, t);
  const out = await h.run(op, [u('a', 0), u('a', 5), u('a', 30), u('a', 22), u('a', 12), u('c', 0), u('c', 15), u('c', 8), u('c', 500)]);
  assert.deepEqual(brief(out), ['a[0,22) n=3', 'c[0,25) n=3', 'a[22,40) n=2']);
  assert.deepEqual(out[0]!.value, { user: 'a', window_start: 0, window_end: 22, n: 3, total: 3 });
});

test('allowed lateness keeps a window open past its end; later records go to the late sink', async () => {
  const { h, op, a } = await setup({ allowedLateness: 5, late: 'late_out' });
  assert.deepEqual(await h.run(op, [a('a', 1), a('a', 12), a('a', 3)]), []);
  assert.deepEqual(brief(await h.run(op, [a('a', 15), a('a', 2)])), ['a[0,10) n=2']);
  assert.deepEqual(h.emitted.get('late_out')!.map((r) => r.timestamp), [2]);
  assert.equal(h.dead.length, 0);
});

test('idle timeout: onTick advances the watermark with processing time and fires windows', async () => {
  const { h, op, a } = await setup({ idleTimeout: '1s' });
  await h.run(op, [a('a', 5)]);
  h.clock.advance(999);
  assert.deepEqual(await h.tick(op), []);
  h.clock.advance(1);
  assert.deepEqual(brief(await h.tick(op)), ['a[0,10) n=1']);
  // The watermark is now 1005: older records are late.
  await h.run(op, [a('a', 900)]);
  assert.equal(h.dead.length, 1);
});

test('emit update: every record emits its window so far, and the window still closes', async () => {
  const { h, op, a } = await setup({ emit: 'update' });
  const out = await h.run(op, [a('a', 1), a('a', 2), a('a', 11)]);
  assert.deepEqual(out.map((r) => `${r.headers['sluice-window']} ${brief([r])[0]}`), ['update a[0,10) n=1', 'update a[0,10) n=2', 'update a[10,20) n=1', 'final a[0,10) n=2']);
});

test('bad event times, missing keys and non-numeric values go to the dead letter', async () => {
  const { h, op } = await setup({ eventTime: 'ts', aggregates: { avg: { avg: 'amount' } } });
  const out = await h.run(op, [
    rec({ ts: 'yesterday', amount: 1 }, 'a'),
    rec({ amount: 1 }, 'a'),
    rec({ ts: 5, amount: 1 }, null),
    rec({ ts: 5, amount: 'x' }, 'a'),
    rec({ ts: '1970-01-01T00:00:00.004Z', amount: 4 }, 'a'),
    rec({ ts: 20, amount: 1 }, 'a'),
  ]);
  assert.deepEqual(out.map((r) => r.value.avg), [4]);
  const msgs = h.dead.map((d) => d.error.message);
  assert.match(msgs[0]!, /event time from `ts` must be epoch milliseconds or an ISO-8601 date-time; got string "yesterday"/);
  assert.match(msgs[1]!, /got null/);
  assert.match(msgs[2]!, /needs keyed records.*keyBy/);
  assert.match(msgs[3]!, /avg "avg" needs a number/);
});

test('check reports bad durations, slides and names', () => {
  const issues: string[] = [];
  const ctx = { models: {}, sinks: ['out'], issue: (p: (string | number)[], m: string) => void issues.push(`${p.join('.')}: ${m}`), requireModel: () => {}, requireSink: (p: (string | number)[], n: string) => void (n === 'out' || issues.push(`${p.join('.')}: no sink ${n}`)), expression: () => {} };
  windowOperator.check!({ window: { sliding: { size: '1m', slide: '2m' } }, aggregates: { window_end: { count: {} } }, maxOutOfOrderness: '5 minutes', late: 'nope' } as never, ctx);
  assert.deepEqual(issues, [
    'maxOutOfOrderness: "5 minutes" is not a duration; use milliseconds as a number, or a number with ms, s, m, h or d (e.g. "500ms", "30s", "5m", "1h")',
    'window.sliding: slide must be more than 0 and at most size (60000 ms); got 120000 ms',
    'aggregates.window_end: "window_end" is an output field of this step already; pick another name',
    'late: no sink nope',
  ]);
});
