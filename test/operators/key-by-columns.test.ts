import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyByOperator } from '../../src/operators/key-by.js';
import { Harness } from '../state/helpers.js';
import { columns } from './columns-helper.js';

test('keyBy on a text column takes the column as the keys (a copy), as the record path would', async () => {
  const rows = [{ origin: 'ORD', n: 1 }, { origin: 'ATL', n: 2 }, { origin: 'ORD', n: 3 }];
  const h = new Harness();
  const op = await h.create(keyByOperator, { key: ' origin ' }, 'k');
  const batch = columns(rows, rows.map(() => null));
  const out = await op.processColumns!(batch, h.ctx(op));
  assert.deepEqual(out.keys, ['ORD', 'ATL', 'ORD']);
  // The keys are the step's own array: changing the column later does not change them.
  assert.notEqual(out.keys, out.columns.get('origin'));
  const byRecords = await op.process(columns(rows, rows.map(() => null)).toRecords(), h.ctx(op));
  assert.deepEqual(byRecords.map((r) => r.key), out.keys);
  assert.equal(h.dead.length, 0);
});

test('keyBy on columns: a column that is not all text (numbers, nulls) goes row by row: numbers become text, a null is dead-lettered', async () => {
  const rows = [{ user: 'u1' }, { user: 42 }, { user: null }, { user: 'u2' }];
  const h = new Harness();
  const op = await h.create(keyByOperator, { key: 'user' }, 'k');
  const out = await op.processColumns!(columns(rows, rows.map(() => null)), h.ctx(op));
  assert.deepEqual(out.keys, ['u1', '42', 'u2']);
  assert.equal(h.dead.length, 1);
  assert.match(h.dead[0]!.error.message, /keyBy `user` must give a string or number; got null/);
});

test('keyBy on columns: an expression over a text field is evaluated, not taken as the column', async () => {
  const rows = [{ origin: 'ORD' }, { origin: 'ATL' }];
  const h = new Harness();
  const op = await h.create(keyByOperator, { key: 'lower(origin)' }, 'k');
  const out = await op.processColumns!(columns(rows, rows.map(() => null)), h.ctx(op));
  assert.deepEqual(out.keys, ['ord', 'atl']);
});
