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
