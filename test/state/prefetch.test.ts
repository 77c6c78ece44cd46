import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import { SluiceError } from '../../src/core/errors.js';
import { KeyedStateBackend, MemoryStateStore } from '../../src/state/index.js';

const NS = 'state/job/t0/op/';

/** A store whose getMany calls wait until released, so tests can act while a read is in flight. */
class GatedStore extends MemoryStateStore {
  gates: (() => void)[] = [];
  failNext = false;

  override async getMany(keys: string[]): Promise<(Buffer | undefined)[]> {
    this.reads++;
    // The read sees the store as it is when it starts (a snapshot), like LevelDB.
    const seen = keys.map((k) => this.data.get(k));
    const fail = this.failNext;
    this.failNext = false;
    await new Promise<void>((r) => this.gates.push(r));
    if (fail) throw new Error('disk on fire');
    return seen;
  }

  release(): void {
    for (const g of this.gates.splice(0)) g();
  }
}

const tick = () => new Promise((r) => setImmediate(r));

function setup(cacheEntries = 100) {
  const store = new GatedStore();
  const b = new KeyedStateBackend(store, { namespace: NS, clock: new ManualClock(0), cacheEntries });
  const v = b.value<number>('n');
  const commit = () => {
    store.apply(b.drainWrites());
    b.markCommitted();
  };
  return { store, b, v, commit };
}

test('a load after a prefetch of the same keys waits for that read instead of reading again', async () => {
  const { store, b, v, commit } = setup();
  const seed = new KeyedStateBackend(store, { namespace: NS, clock: new ManualClock(0) });
  seed.value<number>('n').set('a', 1);
  seed.value<number>('n').set('b', 2);
  store.apply(seed.drainWrites());
  store.reads = 0;
  b.prefetch(['a', 'b']);
  const loading = b.load(['a', 'b', 'c']);
  await tick();
  assert.equal(store.reads, 2, 'the prefetch read a and b; the load read only c');
  store.release();
  await tick();
  store.release();
  await loading;
  assert.equal(v.get('a'), 1);
  assert.equal(v.get('b'), 2);
  assert.equal(v.get('c'), undefined);
  v.set('a', 10);
  commit();
  b.prefetch(['a', 'b']);
  assert.equal(store.reads, 2, 'cached keys are not read again');
});

test('a prefetch does not cache a value that changed while it was in flight', async () => {
  const { store, b, v, commit } = setup(1);
  const seed = new KeyedStateBackend(store, { namespace: NS, clock: new ManualClock(0) });
  seed.value<number>('n').set('k', 1);
  store.apply(seed.drainWrites());
  // The prefetch reads k = 1 from the store and is held in flight.
  b.prefetch(['k']);
  await tick();
  // Meanwhile earlier batches write k = 2 and commit it, and the cache (bound 1) evicts it.
  v.set('k', 2);
  commit();
  v.set('o', 0);
  commit();
  v.set('p', 0);
  commit();
  assert.equal(store.data.get(`${NS}n/k`)?.toString(), '[2]');
  store.release();
  await tick();
  await tick();
  // k was evicted after the prefetch began, so its read of 1 was not cached: a load reads 2.
  const loading = b.load(['k']);
  await tick();
  store.release();
  await loading;
  assert.equal(v.get('k'), 2);
});

test('a failed prefetch is retried by the load that needs its keys, which reports the error', async () => {
  const { store, b, v } = setup();
  store.failNext = true;
  b.prefetch(['a']);
  const loading = b.load(['a']);
  await tick();
  store.release(); // the prefetch fails
  await tick();
  await tick();
  store.release(); // the load's own read succeeds
  await loading;
  assert.equal(v.get('a'), undefined);
  assert.equal(store.reads, 2);
  store.failNext = true;
  const failing = b.load(['z']);
  await tick();
  store.release();
  await assert.rejects(failing, (err: unknown) => err instanceof SluiceError && err.code === 'STORAGE_ERROR');
});

test('load() of the key set a prefetch looked up waits for its read and looks nothing up again, unless entries left the cache meanwhile', async () => {
  const { store, b, v, commit } = setup(2);
  /** Awaits p, opening the store's gates as reads arrive. */
  const run = async <T>(p: Promise<T>): Promise<T> => {
    let done = false;
    const out = p.finally(() => (done = true));
    while (!done) {
      store.release();
      await tick();
    }
    return out;
  };
  store.apply([{ key: `${NS}n/a`, value: '[1]' }, { key: `${NS}n/b`, value: '[2]' }]);
  const keys = new Set(['a', 'b']);
  b.prefetch(keys);
  await run(b.load(keys));
  assert.equal(store.reads, 1, 'one read: the prefetch');
  assert.deepEqual([v.get('a'), v.get('b')], [1, 2]);

  // An entry forgotten between prefetch and load (absent before and after: nothing to write) is looked up again.
  await run(b.load(['c']));
  v.set('c', 3);
  v.clear('c');
  const again = new Set(['c']);
  b.prefetch(again);
  commit();
  await run(b.load(again));
  assert.equal(v.get('c'), undefined, 'readable: load read it again');

  // Evicted between prefetch and load (cache bound 2): read again, not read-before-load.
  const three = new Set(['a', 'b', 'd']);
  b.prefetch(three);
  await run(Promise.resolve());
  await tick();
  v.set('e', 5);
  commit();
  const before = store.reads;
  await run(b.load(three));
  assert.ok(store.reads > before, 'evicted keys were read again');
  assert.deepEqual([v.get('a'), v.get('b'), v.get('d')], [1, 2, undefined]);
});
