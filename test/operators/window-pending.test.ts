import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SluiceError } from '../../src/core/errors.js';
import { windowOperator } from '../../src/operators/window.js';
import { KeyWindows } from '../../src/operators/window-pending.js';
import { Harness, rec } from '../state/helpers.js';

type Config = Parameters<typeof windowOperator.create>[0];
const NS = 'state/test/t0/win/';

test('a key\'s pending windows are stored as the object of windows by start that earlier versions wrote, in the same order', () => {
  const legacy = { '20': { end: 50, acc: { 'count:n': 1 } }, '10': { end: 40, acc: { 'count:n': 2 } }, '-10': { end: 20, acc: { 'count:n': 3 } } };
  const k = KeyWindows.from(legacy, 'w');
  // Objects list index-like keys in numeric order: the stored text never depended on insertion order for those.
  assert.deepEqual(k.starts, [10, 20, -10]);
  assert.equal(JSON.stringify(k), JSON.stringify(legacy));
  k.delete(10);
  k.set(30, { end: 60, acc: {} });
  k.set(20, { end: 50, acc: { 'count:n': 9 } });
  // The same text the earlier versions' object gives after the same changes.
  const old: Record<string, unknown> = { ...legacy };
  delete old['10'];
  old['30'] = { end: 60, acc: {} };
  old['20'] = { end: 50, acc: { 'count:n': 9 } };
  assert.equal(JSON.stringify(k), JSON.stringify(old));
  const big = KeyWindows.from({ '1767225660000': { end: 2, acc: {} }, '1767225600000': { end: 1, acc: {} } }, 'w');
  assert.deepEqual(big.starts, [1767225660000, 1767225600000], 'epoch-ms starts keep their order');
  assert.equal(JSON.stringify(big), '{"1767225660000":{"end":2,"acc":{}},"1767225600000":{"end":1,"acc":{}}}');
  assert.throws(() => KeyWindows.from([1, 2], 'window "w", key "a"'), (err: unknown) => err instanceof SluiceError && err.code === 'STATE_CORRUPT' && /window "w", key "a".*--fresh/.test(err.message));
});

test('windows stored by an earlier version are read, added to and fired after a restart', async () => {
  const h = new Harness();
  // As the previous version stored them: key a has [0, 10) with 2 records, [10, 20) with 1; the watermark is 12.
  h.store.apply([
    { key: `${NS}windows/a`, value: '[{"0":{"end":10,"acc":{"count:n":2,"sum:total":5}},"10":{"end":20,"acc":{"count:n":1,"sum:total":1}}}]' },
    { key: `${NS}progress/`, value: '[{"watermark":{"maxEventTime":9,"watermark":9},"position":null}]' },
  ]);
  const op = await h.create(windowOperator, { window: { tumbling: 10 }, aggregates: { n: { count: {} }, total: { sum: 'amount' } } } as Config, 'win');
  const out = await h.run(op, [rec({ amount: 4 }, 'a', 15)]);
  assert.deepEqual(out.map((r) => `${String(r.value.window_start)} n=${String(r.value.n)} total=${String(r.value.total)}`), ['0 n=2 total=5']);
  assert.equal(h.store.data.get(`${NS}windows/a`)?.toString(), '[{"10":{"end":20,"acc":{"count:n":2,"sum:total":5}}}]', 'written back in the same form');
  const end = await op.onEnd!(h.ctx(op));
  assert.deepEqual(end.map((r) => `${String(r.value.window_start)} n=${String(r.value.n)} total=${String(r.value.total)}`), ['10 n=2 total=5']);
});
