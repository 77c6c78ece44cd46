import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import { SluiceError } from '../../src/core/errors.js';
import { KeyedStateBackend, MemoryStateStore } from '../../src/state/index.js';

const NS = 'state/job/t0/op/';
const backend = (store: MemoryStateStore, clock = new ManualClock(0), cacheEntries?: number) =>
  new KeyedStateBackend(store, { namespace: NS, clock, ...(cacheEntries === undefined ? {} : { cacheEntries }) });
const commit = (b: KeyedStateBackend, store: MemoryStateStore) => {
  store.apply(b.drainWrites());
  b.markCommitted();
};

test('value, map and list state survive a restart through drained writes', async () => {
  const store = new MemoryStateStore();
  const b = backend(store);
  const v = b.value<number>('count');
  const m = b.map<string>('seen');
  const l = b.list<number>('amounts');
  await b.load(['u1', 'u/2%']);
  v.set('u1', 3);
  m.put('u1', 'fr', 'a');
  m.put('u1', 'de', 'b');
  m.remove('u1', 'fr');
  l.add('u/2%', 5);
  l.add('u/2%', 7);
  const writes = b.drainWrites();
  assert.equal(writes.length, 3);
  assert.deepEqual(b.drainWrites(), []);
  store.apply(writes);

  const b2 = backend(store);
  store.reads = 0;
  const [v2, m2, l2] = [b2.value<number>('count'), b2.map<string>('seen'), b2.list<number>('amounts')];
  await b2.load(['u1', 'u/2%', 'nobody']);
  assert.equal(store.reads, 1, 'one batched read for every state and key');
  assert.equal(v2.get('u1'), 3);
  assert.deepEqual(m2.entries('u1'), [['de', 'b']]);
  assert.deepEqual(l2.get('u/2%'), [5, 7]);
  assert.equal(v2.get('nobody'), undefined);
  assert.deepEqual(l2.get('nobody'), []);
  v2.clear('u1');
  store.apply(b2.drainWrites());
  assert.equal([...store.data.keys()].some((k) => k.startsWith(`${NS}count/`)), false);
});

test('names and keys are escaped so they cannot collide', async () => {
  const store = new MemoryStateStore();
  const b = backend(store);
  const a = b.value<string>('a');
  const ab = b.value<string>('a/b');
  a.set('b/c', 'one');
  ab.set('c', 'two');
  a.set('\ud800', 'lone surrogate');
  a.set('\ufffd', 'replacement char');
  store.apply(b.drainWrites());
  assert.equal(store.data.size, 4);
  const got = new Map<string, string>();
  const b2 = backend(store);
  b2.value<string>('a');
  for await (const [k, v] of b2.entries<string>('a')) got.set(k, v);
  assert.deepEqual(got, new Map([['b/c', 'one'], ['\ud800', 'lone surrogate'], ['\ufffd', 'replacement char']]));
});

test('reading a key that was not loaded is a clear error; blind writes need no load', async () => {
  const b = backend(new MemoryStateStore());
  const v = b.value<number>('count');
  v.set('x', 1);
  assert.equal(v.get('x'), 1);
  assert.throws(() => v.get('y'), /state "count" .* key "y" before it was loaded; await load\(keys\)/);
});

test('TTL: entries expire by clock time, writes refresh them, expired ones are deleted', async () => {
  const store = new MemoryStateStore();
  const clock = new ManualClock(1000);
  const b = backend(store, clock);
  const v = b.value<number>('v', { ttlMs: 100 });
  const l = b.list<number>('l', { ttlMs: 100 });
  await b.load(['k']);
  v.set('k', 1);
  l.add('k', 1);
  commit(b, store);
  clock.advance(60);
  v.set('k', 2); // refreshed: now expires at 1160
  commit(b, store);
  clock.advance(60); // 1120: the list (1100) is gone, the value is not
  assert.equal(v.get('k'), 2);
  assert.deepEqual(l.get('k'), []);
  l.add('k', 9); // an expired list starts over
  assert.deepEqual(l.get('k'), [9]);
  commit(b, store);

  clock.advance(100); // 1220: everything expired
  const b2 = backend(store, clock);
  const v2 = b2.value<number>('v', { ttlMs: 100 });
  b2.list<number>('l', { ttlMs: 100 });
  await b2.load(['k']);
  assert.equal(v2.get('k'), undefined);
  const writes = b2.drainWrites();
  assert.deepEqual(writes.map((w) => w.value), [undefined, undefined], 'expired entries found on load are deleted');
  store.apply(writes);
  assert.equal(store.data.size, 0);
});

test('LRU: clean entries stay within the bound; dirty and uncommitted ones are never evicted', async () => {
  const store = new MemoryStateStore();
  const b = backend(store, new ManualClock(0), 10);
  const v = b.value<number>('v');
  const keys = Array.from({ length: 50 }, (_, i) => `k${i}`);
  await b.load(keys);
  for (const [i, k] of keys.entries()) v.set(k, i);
  b.drainWrites(); // drained, not yet committed: the store does not have them
  assert.deepEqual(b.cacheStats(), { clean: 0, dirty: 0, pending: 50 });
  await b.load(keys);
  assert.equal(v.get('k0'), 0, 'uncommitted values are still read from memory');
  store.apply([]); // (nothing reached the store yet)
  b.markCommitted();
  assert.deepEqual(b.cacheStats(), { clean: 50, dirty: 0, pending: 0 }, 'a commit landing mid-batch evicts nothing');
  assert.equal(v.get('k0'), 0, 'so what the running batch loaded can still be read');
  b.drainWrites(); // the batch is done: now the cache is trimmed
  assert.deepEqual(b.cacheStats(), { clean: 10, dirty: 0, pending: 0 });
  assert.equal(v.get('k49'), 49, 'most recent stay');
  assert.throws(() => v.get('k0'), /before it was loaded/);

  await b.load(keys.slice(0, 30)); // loads 30 (more than the bound) for one batch
  assert.equal(b.cacheStats().clean, 40, 'a batch may exceed the bound until it is drained');
  b.drainWrites();
  assert.equal(b.cacheStats().clean, 10);
});

test('eviction spares entries used since they were cached, and keys written again, read again or forgotten stay correct', async () => {
  const store = new MemoryStateStore();
  store.apply([1, 2, 3, 4].map((i) => ({ key: `${NS}v/k${i}`, value: JSON.stringify([i]) })));
  const b = backend(store, new ManualClock(0), 2);
  const v = b.value<number>('v');
  await b.load(['k1', 'k2', 'k3']); // cached oldest first: k1, k2, k3
  await b.load(['k1']); // k1 is used again
  b.drainWrites(); // one over the bound: k2 goes, not k1
  assert.equal(v.get('k1'), 1);
  assert.equal(v.get('k3'), 3);
  assert.throws(() => v.get('k2'), /before it was loaded/);

  // A key read (so get() would find it first next time), written, committed, then evicted: a
  // later get() must not be served from that shortcut, and a read sees the committed write.
  const b2 = backend(store, new ManualClock(0), 1);
  const v2 = b2.value<number>('v');
  await b2.load(['k1']);
  assert.equal(v2.get('k1'), 1);
  v2.set('k1', 10);
  commit(b2, store);
  await b2.load(['k2']);
  await b2.load(['k2']);
  b2.drainWrites(); // k1 is the least recently used
  assert.deepEqual(b2.cacheStats(), { clean: 1, dirty: 0, pending: 0 });
  assert.throws(() => v2.get('k1'), /before it was loaded/);
  assert.equal(v2.get('k2'), 2);
  await b2.load(['k1']);
  assert.equal(v2.get('k1'), 10);

  // A value that lives and dies between two drains is forgotten, not cached or written.
  await b.load(['k9']); // absent in the store
  v.set('k9', 9);
  v.clear('k9');
  assert.deepEqual(b.drainWrites(), []);
  assert.throws(() => v.get('k9'), /before it was loaded/);
  await b.load(['k9']);
  assert.equal(v.get('k9'), undefined);
});

test('entries merges the store with uncommitted changes', async () => {
  const store = new MemoryStateStore();
  const b = backend(store);
  const v = b.value<number>('v');
  v.set('a', 1);
  v.set('b', 2);
  commit(b, store);
  await b.load(['a', 'b']);
  v.clear('a');
  v.set('b', 20);
  v.set('c', 3);
  const seen: [string, number][] = [];
  for await (const e of b.entries<number>('v')) seen.push(e);
  assert.deepEqual(seen, [['b', 20], ['c', 3]]);
});

test('a stored value that does not parse is a STATE_CORRUPT error with a recovery hint', async () => {
  const store = new MemoryStateStore();
  store.data.set(`${NS}count/u1`, Buffer.from('{not json'));
  store.data.set(`${NS}list/u1`, Buffer.from('[{"a":1}]'));
  const b = backend(store);
  b.value<number>('count');
  await assert.rejects(b.load(['u1']), (err: SluiceError) => {
    assert.equal(err.code, 'STATE_CORRUPT');
    assert.match(err.message, /state "count" \(state\/job\/t0\/op\/\) for key "u1" is unreadable: not JSON/);
    assert.match(err.message, /delete the data directory .* or rerun with --fresh/);
    return true;
  });
  const b2 = backend(store);
  b2.list<number>('list');
  await assert.rejects(b2.load(['u1']), /list state that is not a list/);
});

test('assumeAbsent: keys read as absent without a store read, and writes to them survive cache pressure', async () => {
  const store = new MemoryStateStore();
  store.apply([{ key: 'x', value: Buffer.from('[1]') }]); // unrelated: assumeAbsent must not read the store
  const b = backend(store, new ManualClock(0), 2);
  const m = b.map<number>('m');
  b.assumeAbsent(['a', 'b'], 'm');
  assert.equal(m.get('a', 'f'), undefined);
  m.put('a', 'f', 1);
  await b.load(Array.from({ length: 20 }, (_, i) => `k${i}`)); // more than the cache bound
  const writes = b.drainWrites();
  assert.equal(writes.length, 1);
  assert.match(writes[0]!.key, /a$/);
  await b.load(['a']); // drained, not committed: it must still be read from memory, not evicted
  assert.equal(m.get('a', 'f'), 1);
});
