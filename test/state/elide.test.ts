import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import { KeyedStateBackend, MemoryStateStore } from '../../src/state/index.js';

const NS = 'state/job/t0/op/';
const backend = (store = new MemoryStateStore()) => new KeyedStateBackend(store, { namespace: NS, clock: new ManualClock(0) });

test('state that lives and dies between two drains is never written', async () => {
  const b = backend();
  const v = b.value<number>('w');
  await b.load(['a', 'b']);
  v.set('a', 1);
  v.clear('a');
  v.set('b', 2);
  assert.deepEqual(b.drainWrites().map((w) => [w.key, w.value]), [[`${NS}w/b`, '[2]']]);
});

test('a clear after the value was drained is written', async () => {
  const store = new MemoryStateStore();
  const b = backend(store);
  const v = b.value<number>('w');
  await b.load(['a']);
  v.set('a', 1);
  store.apply(b.drainWrites());
  b.markCommitted();
  v.clear('a');
  const writes = b.drainWrites();
  assert.deepEqual(writes.map((w) => [w.key, w.value]), [[`${NS}w/a`, undefined]]);
  store.apply(writes);
  assert.equal(store.data.size, 0);
});

test('clearing a stored value that was read is written', async () => {
  const store = new MemoryStateStore();
  store.apply([{ key: `${NS}w/a`, value: '[5]' }]);
  const b = backend(store);
  const v = b.value<number>('w');
  await b.load(['a']);
  assert.equal(v.get('a'), 5);
  v.clear('a');
  assert.deepEqual(b.drainWrites().map((w) => w.value), [undefined]);
});

test('a set without load may overwrite a stored value, so clearing it is written', () => {
  const b = backend();
  const v = b.value<number>('w');
  v.set('a', 1);
  v.clear('a');
  const writes = b.drainWrites();
  assert.equal(writes.length, 1);
  assert.equal(writes[0]?.value, undefined);
});
