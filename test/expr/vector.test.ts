import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileExpression } from '../../src/expr/index.js';

const N = 500;
const cols: Record<string, Float64Array> = {
  date: Float64Array.from({ length: N }, (_, i) => 978307260000 + i * 7_654_321),
  x: Float64Array.from({ length: N }, (_, i) => (i % 37) - 18.5),
  y: Float64Array.from({ length: N }, (_, i) => (i % 11) + 1),
};
const get = (f: string) => cols[f];

function rowWise(src: string): unknown[] {
  const e = compileExpression(src);
  return Array.from({ length: N }, (_, i) => e.evaluate({ value: { date: cols.date![i], x: cols.x![i], y: cols.y![i] }, key: null, timestamp: 0, headers: {} }));
}

test('column-at-a-time results equal row-by-row results', () => {
  for (const src of ['floor((date % 86400000) / 60000)', 'hour(date)', 'dayOfWeek(date)', 'month(date) * 100 + dayOfMonth(date)', 'year(date)', 'x > 0 ? x * y : -x', 'abs(x) + sqrt(y) - log1p(y)', 'min(x, y) / max(y, 2)', 'x % y', 'ceil(x / 3) == 2']) {
    const e = compileExpression(src);
    assert.ok(e.vector, `${src} should be vectorized`);
    const v = e.vector!(get, N)!;
    assert.ok(v, `${src} should evaluate as a column`);
    const want = rowWise(src);
    const got = v instanceof Uint8Array ? Array.from(v, (b) => b === 1) : Array.from(v);
    assert.deepEqual(got, want, src);
  }
});

test('it gives up (null) where the row path would raise a per-record error, and skips non-numeric expressions', () => {
  assert.equal(compileExpression('x / (y - 1)').vector!(get, N), null, 'a zero divisor somewhere');
  assert.equal(compileExpression('sqrt(x)').vector!(get, N), null, 'a negative square root');
  assert.equal(compileExpression('missing + 1').vector!(get, N), null, 'a column that is not clean numbers');
  assert.equal(compileExpression('name == "a"').vector, undefined);
});

test('hash over a string column and coalesce over a missing column match the row path', () => {
  const origin = Array.from({ length: N }, (_, i) => ['SFO', 'JFK', 'ORD', 'Zürich'][i % 4]!);
  const h = compileExpression('hash(origin) % 512');
  const v = h.vector!(get, N, { strings: (f) => (f === 'origin' ? origin : undefined), absent: () => false })!;
  assert.deepEqual(Array.from(v), origin.map((o) => h.evaluate({ value: { origin: o }, key: null, timestamp: 0, headers: {} })));
  const c = compileExpression('coalesce(gone, -999)');
  assert.deepEqual(Array.from(c.vector!(get, 3, { absent: (f) => f === 'gone' })!), [-999, -999, -999]);
  assert.equal(c.vector!(get, 3, { absent: () => false }), null, 'a present but unclean column goes row by row');
  assert.equal(h.vector!(get, N, { strings: () => undefined }), null);
});

test('date kernels reuse results per UTC day; still exact for unsorted, pre-1970 and repeated days', () => {
  const days = [0, -1, 59, 60, 365 * 30 + 7, -719_468, 11_000, 11_000, 0];
  const date = Float64Array.from({ length: N }, (_, i) => days[i % days.length]! * 86_400_000 + ((i * 7_919_333) % 86_400_000) - (i % 3 === 0 ? 86_400_000 * 400 : 0));
  const e = (src: string) => compileExpression(src);
  for (const src of ['month(date)', 'dayOfMonth(date)', 'year(date)', 'hour(date)', 'dayOfWeek(date)', 'min(date, 0) + max(3, date)', '2 - date', '-date', 'date >= 0 ? 1 : 2', 'date % 86400000', '(0 - date) % 7', 'date % -3600000', 'floor((date % 86400000) / 60000)']) {
    const v = e(src).vector!((f) => (f === 'date' ? date : undefined), N)!;
    assert.deepEqual(Array.from(v as Float64Array), Array.from(date, (d) => e(src).evaluate({ value: { date: d }, key: null, timestamp: 0, headers: {} })), src);
  }
});

test('integer remainders take the fast path and still equal JS % (signs, zeros, large and fractional values)', () => {
  const xs = [0, -0, 7, -7, 86_400_000, -86_400_000, 2 ** 53, -(2 ** 53), 2 ** 53 + 2, 1e300, 5.5, -5.5, 978307260000, -978307260000, 3];
  const ys = [1, -1, 3, -3, 7, 86_400_000, 2 ** 52, 0.5, 1e-300];
  const x = Float64Array.from(xs.flatMap((a) => ys.map(() => a)));
  const y = Float64Array.from(xs.flatMap(() => ys));
  const v = compileExpression('x % y').vector!((f) => (f === 'x' ? x : f === 'y' ? y : undefined), x.length) as Float64Array;
  for (let i = 0; i < x.length; i++) assert.ok(Object.is(v[i], x[i]! % y[i]!), `${x[i]} % ${y[i]}: ${v[i]} vs ${x[i]! % y[i]!}`);
});

test('coalesce and isNull over a number column with nulls stay columnar and equal the row path', () => {
  const avg = Float64Array.from({ length: N }, (_, i) => (i % 5 === 0 ? NaN : (i % 13) * 1.25 - 4));
  const nulls = Uint8Array.from({ length: N }, (_, i) => (i % 5 === 0 ? 1 : 0));
  const more = { nullable: (f: string) => (f === 'avg' ? { values: avg, nulls } : undefined), absent: (f: string) => f === 'gone' };
  const row = (i: number) => ({ value: { avg: nulls[i] ? null : avg[i], x: cols.x![i], y: cols.y![i] }, key: null, timestamp: 0, headers: {} });
  for (const src of ['coalesce(avg, -999)', 'coalesce(avg, x * y) + 1', 'isNull(avg) ? x : y', 'isNull(x) ? 1 : 2', 'isNull(gone) ? 1 : 2']) {
    const e = compileExpression(src);
    const v = e.vector!(get, N, more);
    assert.ok(v, `${src} should evaluate as a column`);
    const got = v instanceof Uint8Array ? Array.from(v, (b) => b === 1) : Array.from(v);
    assert.deepEqual(got, Array.from({ length: N }, (_, i) => e.evaluate(row(i))), src);
  }
  // Where the row path would fail or give a non-number, it still goes row by row.
  assert.equal(compileExpression('avg + 1').vector!(get, N, more), null, 'arithmetic on a null');
  assert.equal(compileExpression('coalesce(avg, x / (y - 1))').vector!(get, N, more), null, 'a fallback with a zero divisor');
  assert.equal(compileExpression('coalesce(avg, -1)').vector!(get, N, { nullable: () => undefined }), null, 'a column with non-numbers');
});

test('`?:` with a null branch gives numbers with a null mask (vectorWithNulls) and nothing through `vector`', () => {
  const e = compileExpression('x > 0 ? null : y * 2');
  assert.equal(e.vector!(get, N), null, 'plain vector gives up on nulls');
  const v = e.vectorWithNulls!(get, N) as { values: Float64Array; nulls: Uint8Array };
  const got = Array.from(v.values, (x, i) => (v.nulls[i] ? null : x));
  assert.deepEqual(got, rowWise('x > 0 ? null : y * 2'));
  assert.equal(compileExpression('(x > 0 ? null : y) + 1').vectorWithNulls!(get, N), null, 'arithmetic on a null');
  const all = compileExpression('x > 1000 ? 1 : null').vectorWithNulls!(get, N) as { nulls: Uint8Array };
  assert.ok(all.nulls.every((b) => b === 1));
});
