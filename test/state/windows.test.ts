import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACCUMULATORS, TimerIndex, WatermarkTracker, mergeWindow, parseDuration, session, sliding, tumbling } from '../../src/state/index.js';

test('tumbling windows at their boundaries, before the epoch too', () => {
  const w = tumbling(10);
  assert.deepEqual(w.assign(0), [{ start: 0, end: 10 }]);
  assert.deepEqual(w.assign(9), [{ start: 0, end: 10 }]);
  assert.deepEqual(w.assign(10), [{ start: 10, end: 20 }]);
  assert.deepEqual(w.assign(-1), [{ start: -10, end: 0 }]);
  assert.deepEqual(tumbling(10, 3).assign(2), [{ start: -7, end: 3 }]);
});

test('sliding windows: every window that contains the time', () => {
  const w = sliding(30, 10);
  assert.deepEqual(w.assign(10), [{ start: -10, end: 20 }, { start: 0, end: 30 }, { start: 10, end: 40 }]);
  assert.deepEqual(w.assign(29).map((x) => x.start), [0, 10, 20]);
  assert.deepEqual(sliding(10, 10).assign(15), [{ start: 10, end: 20 }]);
  assert.throws(() => sliding(10, 20), /0 < slide <= size/);
});

test('sessions merge when they overlap, not when they only touch', () => {
  assert.deepEqual(session(10).assign(5), [{ start: 5, end: 15 }]);
  const existing = [{ start: 0, end: 10 }, { start: 12, end: 22 }, { start: 40, end: 50 }];
  assert.deepEqual(mergeWindow(existing, { start: 8, end: 18 }), { merged: { start: 0, end: 22 }, absorbed: [existing[0], existing[1]] });
  assert.deepEqual(mergeWindow(existing, { start: 22, end: 32 }).absorbed, []);
});

test('watermark: max event time minus out-of-orderness, never backwards; idle advance with processing time', () => {
  const t = new WatermarkTracker({ maxOutOfOrdernessMs: 5, idleTimeoutMs: 100 });
  assert.equal(t.watermark, -Infinity);
  assert.equal(t.onIdle(1000), false, 'nothing seen, nothing to advance');
  t.observe(50, 1000);
  t.observe(20, 1000);
  assert.equal(t.watermark, 45);
  assert.equal(t.onIdle(1099), false, 'not idle long enough');
  assert.equal(t.onIdle(1100), true);
  assert.equal(t.watermark, 145, '50 - 5 + 100 ms idle');
  t.observe(60, 1200);
  assert.equal(t.watermark, 145, 'records never move it back');
  const r = new WatermarkTracker({ maxOutOfOrdernessMs: 5 });
  r.restore(t.snapshot(), 0);
  assert.equal(r.watermark, 145);
  assert.equal(r.maxEventTime, 60);
});

test('timer index fires in (time, key, id) order and forgets removed timers', () => {
  const ix = new TimerIndex();
  ix.add(20, 'b', 1);
  ix.add(10, 'z', 0);
  ix.add(20, 'a', 2);
  ix.add(30, 'a', 3);
  ix.remove(10, 'z', 0);
  ix.add(10, 'y', 0);
  assert.deepEqual(ix.popDue(25), [
    { time: 10, key: 'y', id: 0 },
    { time: 20, key: 'a', id: 2 },
    { time: 20, key: 'b', id: 1 },
  ]);
  assert.equal(ix.size, 1);
  assert.equal(ix.peek(), 30);
});

test('accumulators add, merge and keep JSON state', () => {
  const { count, sum, avg, min, max, last } = ACCUMULATORS;
  const fold = (acc: typeof sum, xs: number[]) => xs.reduce((s, x, i) => acc.add(s, x, i), acc.init());
  assert.equal(count.result(fold(count, [1, 2, 3])), 3);
  assert.equal(sum.result(sum.merge(fold(sum, [1, 2]), fold(sum, [3]))), 6);
  assert.equal(avg.result(avg.merge(fold(avg, [1, 2]), fold(avg, [6]))), 3);
  assert.equal(avg.result(avg.init()), null);
  assert.equal(min.result(min.merge(fold(min, [4, 2]), min.init())), 2);
  assert.equal(max.result(max.merge(fold(max, [4]), fold(max, [9]))), 9);
  // last: greatest event time wins, whatever the arrival or merge order
  const a = last.add(last.init(), 'late-arrival', 5);
  const b = last.add(last.add(last.init(), 'newest', 9), 'older', 3);
  assert.equal(last.result(b), 'newest');
  assert.equal(last.result(last.merge(b, a)), 'newest');
  assert.deepEqual(JSON.parse(JSON.stringify(avg.add(avg.init(), 2, 0))), [2, 1]);
});

test('durations', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('1d'), 86_400_000);
  assert.equal(parseDuration(250), 250);
  assert.equal(parseDuration('5 minutes'), undefined);
  assert.equal(parseDuration(-1), undefined);
});

test('watermark with upstream tasks: follows the slowest, waits for one not heard from, leaves out idle ones', () => {
  const t = new WatermarkTracker({ maxOutOfOrdernessMs: 5, upstreams: ['a', 'b'] });
  t.observe(100, 0, 'a');
  assert.equal(t.watermark, -Infinity, 'b has sent nothing yet: it may still send old records');
  t.observe(40, 0, 'b');
  assert.equal(t.watermark, 35);
  t.observe(200, 0, 'a');
  assert.equal(t.watermark, 35, 'a running ahead does not move it');
  t.observe(150, 0, 'b');
  assert.equal(t.watermark, 145);
  t.observe(10, 0, 'b');
  assert.equal(t.watermark, 145, 'never backwards');
  assert.equal(t.maxEventTime, 200);

  const r = new WatermarkTracker({ maxOutOfOrdernessMs: 5, upstreams: ['a', 'b'] });
  r.restore(t.snapshot(), 0);
  assert.deepEqual(t.snapshot().upstreams, { a: 200, b: 150 });
  r.observe(300, 0, 'a');
  assert.equal(r.watermark, 145, 'each upstream position survives a restart');
  r.observe(260, 0, 'b');
  assert.equal(r.watermark, 255);

  const idle = new WatermarkTracker({ upstreams: ['a', 'b', 'c'], idleTimeoutMs: 100 });
  idle.observe(50, 1000, 'a');
  idle.observe(60, 1050, 'b');
  assert.equal(idle.watermark, -Infinity, 'c has not been silent long yet');
  idle.observe(70, 1099, 'a');
  assert.equal(idle.watermark, -Infinity);
  idle.observe(80, 1100, 'a');
  assert.equal(idle.watermark, 60, 'c silent for 100 ms is left out: min(a 80, b 60)');
  assert.equal(idle.onIdle(1150), true);
  assert.equal(idle.watermark, 80, 'b silent too: a alone');
});
