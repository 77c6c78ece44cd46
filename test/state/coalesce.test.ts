import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStateStore, coalescingReads, kvStateStore } from '../../src/state/index.js';
import { withLog } from '../embedded/helpers.js';

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

test('with a versioned store, a finished read is reused until a write lands; a write during a read keeps nothing', async () => {
  const store = new MemoryStateStore();
  store.apply([{ key: 'k', value: 'v1' }]);
  const c = coalescingReads(store);
  assert.deepEqual((await c.getMany!(['k', 'absent'])).map(text), ['v1', undefined]);
  assert.deepEqual((await c.getMany!(['absent', 'k'])).map(text), [undefined, 'v1']);
  assert.equal(text(await c.get('k')), 'v1');
  assert.equal(store.reads, 1, 'answered from the kept read, absent keys included');
  store.apply([{ key: 'k', value: 'v2' }]);
  assert.equal(text(await c.get('k')), 'v2');
  assert.equal(store.reads, 2);
  // A write that lands while a read is in flight: that read's values are not kept.
  let racing = true;
  const racy = {
    get: store.get.bind(store),
    scan: store.scan.bind(store),
    version: () => store.version(),
    getMany: async (keys: string[]) => {
      const values = await store.getMany(keys);
      if (racing) store.apply([{ key: 'other', value: 'o' }]); // lands after the read saw the store
      racing = false;
      return values;
    },
  };
  const r = coalescingReads(racy);
  assert.equal(await r.get('other'), undefined);
  assert.equal(text(await r.get('other')), 'o');
  assert.equal(text(await r.get('other')), 'o');
  assert.equal(store.reads, 4, 'the raced read was not kept; the one after it was');
});

test('over the embedded log, a kv commit makes the next read go to the store', async () => {
  await withLog(async (log) => {
    const c = coalescingReads(kvStateStore(log));
    await log.commit({ kv: [{ key: 's/a', value: 'one' }] });
    const v0 = log.kvVersion();
    assert.equal(text(await c.get('s/a')), 'one');
    await log.commit({ appends: [] }); // no kv: the version stays
    assert.equal(log.kvVersion(), v0);
    await log.commit({ kv: [{ key: 's/a', value: 'two' }] });
    assert.equal(log.kvVersion(), v0 + 1);
    assert.equal(text(await c.get('s/a')), 'two');
  });
});
