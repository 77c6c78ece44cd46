import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addInputsOwned, checkState, compileAggregates, mergeStates } from '../../src/state/accumulators.js';
import { SluiceError } from '../../src/core/errors.js';
import { keepClosed, type ClosedWindow } from '../../src/operators/window-enrich.js';

const aggs = compileAggregates({ n: { count: {} }, mean: { avg: 'x' } });

test('avg adds in place; merging never changes its inputs and shares no array with them', () => {
  const a = addInputsOwned(aggs, {}, [undefined, 2], 0);
  const arr = a['avg:mean'];
  addInputsOwned(aggs, a, [undefined, 4], 1);
  assert.equal(a['avg:mean'], arr, 'the same array, changed in place');
  assert.deepEqual(arr, [6, 2]);
  const b = addInputsOwned(aggs, {}, [undefined, 10], 2);
  const m = mergeStates(aggs, a, b);
  assert.deepEqual(m, { 'count:n': 3, 'avg:mean': [16, 3] });
  assert.notEqual(m['avg:mean'], a['avg:mean']);
  assert.notEqual(m['avg:mean'], b['avg:mean']);
  assert.deepEqual(a['avg:mean'], [6, 2], 'inputs unchanged');
  assert.deepEqual(b['avg:mean'], [10, 1]);
});

test('checkState rejects a stored slot of the wrong kind with STATE_CORRUPT', () => {
  checkState(aggs, { 'count:n': 3, 'avg:mean': [1, 1] });
  checkState(aggs, {});
  assert.throws(() => checkState(aggs, { 'avg:mean': 5 }), (e: unknown) => e instanceof SluiceError && e.code === 'STATE_CORRUPT' && /"mean" \(avg\)/.test(e.message));
});

test('keepClosed changes the list in place: drops what the horizon passed, appends or inserts by end, merges a repeated end into new accumulators', () => {
  const w = (end: number, x: number): ClosedWindow => ({ end, acc: addInputsOwned(aggs, {}, [undefined, x], end - 1) });
  const list = keepClosed(aggs, undefined, w(10, 1), 0);
  assert.deepEqual(list.map((c) => c.end), [10]);
  const moved = w(30, 3);
  const same = keepClosed(aggs, list, moved, 0);
  assert.equal(same, list, 'the same list object');
  assert.equal(list[1], moved, 'the fired window is moved in, not copied');
  keepClosed(aggs, list, w(20, 2), 0);
  assert.deepEqual(list.map((c) => c.end), [10, 20, 30], 'inserted in end order');
  const again = w(30, 5);
  keepClosed(aggs, list, again, 15);
  assert.deepEqual(list.map((c) => c.end), [20, 30], 'the entry at end 10 <= horizon 15 is dropped');
  assert.deepEqual(list[1]!.acc, { 'count:n': 2, 'avg:mean': [8, 2] }, 'a repeated end merges');
  assert.notEqual(list[1]!.acc['avg:mean'], again.acc['avg:mean'], 'the merged entry shares no array with the fired window');
  assert.deepEqual(moved.acc['avg:mean'], [3, 1], 'the old entry was not changed by the merge');
  assert.deepEqual(keepClosed(aggs, list, w(12, 1), 15).map((c) => c.end), [20, 30], 'a window at or before the horizon is not kept');
});
