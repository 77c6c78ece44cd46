import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mapOperator } from '../../src/operators/map.js';
import { Harness } from '../state/helpers.js';
import { columns } from './columns-helper.js';

test('map over columns with nulls: coalesce and `isNull(x) ? null : …` stay number columns and equal the record path', async () => {
  const rows = Array.from({ length: 200 }, (_, i) => ({ avg: i % 3 === 0 ? null : i / 4 - 7, delay: i % 7 === 0 ? null : (i % 40) - 5, d: (i % 40) - 5 }));
  const set = { filled: 'coalesce(avg, -999)', late: 'isNull(d) ? null : (d > 15 ? 1 : 0)', late2: 'isNull(avg) ? null : avg * 2', missing: 'isNull(avg) ? 1 : 0' };
  const h = new Harness();
  const op = await h.create(mapOperator, { set }, 'm');
  const batch = columns(rows, rows.map(() => null));
  const out = await op.processColumns!(batch, h.ctx(op));
  // These results are number columns (nulls in a mask), not values evaluated row by row.
  for (const f of ['filled', 'late', 'missing']) assert.ok(out.columns.get(f) instanceof Float64Array, `${f} is a number column`);
  assert.equal(out.nulls.has('filled'), false);
  assert.equal(out.nulls.has('late'), false, 'no row of d is null');
  // Arithmetic on a column with nulls is not vectorized (the row path decides what a null row raises).
  assert.ok(Array.isArray(out.columns.get('late2')));
  const byRecords = await op.process(columns(rows, rows.map(() => null)).toRecords(), h.ctx(op));
  assert.deepEqual(out.toRecords().map((r) => r.value), byRecords.map((r) => r.value));
  assert.deepEqual(byRecords.slice(0, 2).map((r) => [r.value.filled, r.value.late2]), [[-999, null], [-6.75, -13.5]]);
  assert.equal(h.dead.length, 0);
});

test('map over columns: `isNull(x) ? null : x > 15 …` with nulls in x goes row by row and still matches', async () => {
  const rows = Array.from({ length: 50 }, (_, i) => ({ delay: i % 7 === 0 ? null : (i % 40) - 5 }));
  const h = new Harness();
  const op = await h.create(mapOperator, { set: { late: 'isNull(delay) ? null : (delay > 15 ? 1 : 0)' } }, 'm');
  const out = await op.processColumns!(columns(rows, rows.map(() => null)), h.ctx(op));
  const byRecords = await op.process(columns(rows, rows.map(() => null)).toRecords(), h.ctx(op));
  assert.deepEqual(out.toRecords().map((r) => r.value), byRecords.map((r) => r.value));
  assert.equal(byRecords[0]!.value.late, null);
  assert.equal(byRecords[20]!.value.late, 0);
  assert.equal(byRecords[22]!.value.late, 1);
});
