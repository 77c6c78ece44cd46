import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStateStore, coalescingReads } from '../../src/state/index.js';

const text = (v: unknown) => (v === undefined ? undefined : String(v));

test('concurrent reads become one store read, each distinct key once, each caller gets its own keys in order', async () => {
  const store = new MemoryStateStore();
  store.apply([{ key: 'a', value: '1' }, { key: 'b', value: '2' }]);
  const keysRead: string[][] = [];
  const spy = { ...store, get: store.get.bind(store), scan: store.scan.bind(store), getMany: (keys: string[]) => (keysRead.push(keys), store.getMany(keys)) };
  const c = coalescingReads(spy);
  const [x, y, z] = await Promise.all([c.getMany!(['a', 'b']), c.getMany!(['b', 'zz']), c.get('a')]);
  assert.deepEqual(x.map(text), ['1', '2']);
  assert.deepEqual(y.map(text), ['2', undefined]);
  assert.equal(text(z), '1');
  assert.deepEqual(keysRead, [['a', 'b', 'zz']]);
});

test('a read asked for after the previous one was issued is a new read and sees later commits', async () => {
  const store = new MemoryStateStore();
  store.apply([{ key: 'k', value: 'old' }]);
  const c = coalescingReads(store);
  const first = c.getMany!(['k']);
  await new Promise((r) => setImmediate(r)); // the first read is issued
  store.apply([{ key: 'k', value: 'new' }]);
  const second = c.getMany!(['k']);
  assert.equal(text((await first)[0]), 'old');
  assert.equal(text((await second)[0]), 'new');
  assert.equal(store.reads, 2);
});

test('a failed read fails every caller that joined it', async () => {
  const failing = { get: async () => undefined, scan: async function* () {}, getMany: async () => Promise.reject(new Error('disk gone')) };
  const c = coalescingReads(failing);
  const results = await Promise.allSettled([c.getMany!(['a']), c.get('b')]);
  assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
  assert.match(String((results[0] as PromiseRejectedResult).reason), /disk gone/);
});
