import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import { SluiceError } from '../../src/core/errors.js';
import { KeyWindows, keyWindowsCodec } from '../../src/operators/window-pending.js';
import { KeyedStateBackend, MemoryStateStore, PACKED, PackReader, PackWriter, aggregateStateCodec, compileAggregates, type AggregateState } from '../../src/state/index.js';

const NS = 'state/job/t0/op/';
const AGGS = compileAggregates({ n: { count: {} }, total: { sum: 'amount' }, mean: { avg: 'amount' }, lo: { min: 'amount' }, hi: { max: 'amount' } });
const codec = aggregateStateCodec(AGGS, 'aggregate "agg"')!;
const backend = (store: MemoryStateStore, clock = new ManualClock(0)) => new KeyedStateBackend(store, { namespace: NS, clock });
const commit = (b: KeyedStateBackend, store: MemoryStateStore) => {
  store.apply(b.drainWrites());
  b.markCommitted();
};

test('packed numbers read back bit for bit: small and large integers, doubles, -0, null, extremes', () => {
  const xs = [0, 1, 63, 64, 127, 128, 16_383, 1_767_225_600_000, Number.MAX_SAFE_INTEGER, -1, -0, 0.1, 1 / 3, 1234.5600000000002, -7.25e-300, Number.MIN_VALUE, Number.MAX_VALUE, 2 ** 53, Infinity, -Infinity];
  const w = new PackWriter();
  w.reset();
  for (const x of xs) w.num(x);
  w.numOrNull(null);
  const text = w.text();
  for (let i = 0; i < text.length; i++) assert.ok(text.charCodeAt(i) < 0x80, 'every character is ASCII, so the text is its own UTF-8');
  assert.equal(Buffer.from(text, 'utf8').toString('utf8'), text);
  const r = new PackReader();
  r.reset(text, 0);
  for (const x of xs) assert.ok(Object.is(r.num(), x), `${x} reads back`);
  assert.equal(r.numOrNull(), null);
  assert.ok(r.done);
  assert.ok(Number.isNaN((() => { w.reset(); w.num(NaN); r.reset(w.text(), 0); return r.num(); })()));
  assert.ok(text.length < xs.map(String).join(',').length + 40, 'shorter than the decimal text, roughly');
});

test('aggregate state: packed round trip through the backend, in the shape addInputs builds, smaller than JSON', async () => {
  const store = new MemoryStateStore();
  const b = backend(store);
  const v = b.value<AggregateState>('aggregates', { codec });
  await b.load(['u1', 'u2']);
  const full: AggregateState = { 'count:n': 3, 'sum:total': 12.75, 'avg:mean': [12.75, 3], 'min:lo': 0.25, 'max:hi': 9.1 };
  v.set('u1', full);
  v.set('u2', { 'count:n': 1, 'min:lo': null });
  commit(b, store);
  const stored = store.data.get(`${NS}aggregates/u1`)!;
  assert.equal(stored[0], PACKED);
  assert.ok(stored.length < JSON.stringify([full]).length, `packed ${stored.length} bytes`);
  const b2 = backend(store);
  const v2 = b2.value<AggregateState>('aggregates', { codec });
  await b2.load(['u1', 'u2']);
  assert.deepEqual(v2.get('u1'), full);
  assert.deepEqual(Object.keys(v2.get('u1')!), Object.keys(full), 'slots in aggregate order');
  assert.deepEqual(v2.get('u2'), { 'count:n': 1, 'min:lo': null });
});

test('aggregate state: a TTL survives the packed form, and an expired packed entry reads as absent and is deleted', async () => {
  const store = new MemoryStateStore();
  const clock = new ManualClock(1000);
  const b = backend(store, clock);
  const v = b.value<AggregateState>('aggregates', { codec, ttlMs: 500 });
  await b.load(['u1']);
  v.set('u1', { 'count:n': 2 });
  commit(b, store);
  const b2 = backend(store, clock);
  const v2 = b2.value<AggregateState>('aggregates', { codec, ttlMs: 500 });
  await b2.load(['u1']);
  assert.deepEqual(v2.get('u1'), { 'count:n': 2 });
  clock.advance(500);
  const b3 = backend(store, clock);
  b3.value<AggregateState>('aggregates', { codec, ttlMs: 500 });
  await b3.load(['u1']);
  assert.deepEqual(b3.drainWrites(), [{ key: `${NS}aggregates/u1`, value: undefined }]);
});

test('aggregate state: JSON entries of earlier versions read, are checked, and are written back as JSON', async () => {
  const store = new MemoryStateStore();
  store.apply([
    { key: `${NS}aggregates/old`, value: '[{"count:n":4,"avg:mean":[10,4]}]' },
    { key: `${NS}aggregates/bad`, value: '[{"avg:mean":5}]' },
    { key: `${NS}aggregates/extra`, value: '[{"count:n":1,"sum:gone":7}]' },
  ]);
  const b = backend(store);
  const v = b.value<AggregateState>('aggregates', { codec });
  await b.load(['old', 'extra']);
  assert.deepEqual(v.get('old'), { 'count:n': 4, 'avg:mean': [10, 4] });
  v.set('old', { ...v.get('old')!, 'count:n': 5 });
  v.set('new', { 'count:n': 1 });
  commit(b, store);
  assert.equal(store.data.get(`${NS}aggregates/old`)!.toString(), '[{"count:n":5,"avg:mean":[10,4]}]', 'a key read as JSON keeps its form');
  assert.equal(store.data.get(`${NS}aggregates/new`)![0], PACKED, 'a new key is packed');
  await assert.rejects(b.load(['bad']), (e: unknown) => e instanceof SluiceError && e.code === 'STATE_CORRUPT' && /"mean" \(avg\)/.test(e.message));
  // A slot of no current aggregate is kept: such a state stays JSON even for a new key.
  const b2 = backend(store);
  const v2 = b2.value<AggregateState>('aggregates', { codec });
  v2.set('fresh', { 'count:n': 1, 'sum:gone': 7 });
  commit(b2, store);
  assert.equal(store.data.get(`${NS}aggregates/fresh`)!.toString(), '[{"count:n":1,"sum:gone":7}]');
});

test('a damaged packed entry is STATE_CORRUPT naming the state and key, with the recovery hint', async () => {
  const store = new MemoryStateStore();
  const b = backend(store);
  const v = b.value<AggregateState>('aggregates', { codec });
  await b.load(['u1']);
  v.set('u1', { 'count:n': 3, 'sum:total': 1.5, 'avg:mean': [1.5, 3], 'min:lo': 0.5, 'max:hi': 1 });
  commit(b, store);
  const good = store.data.get(`${NS}aggregates/u1`)!;
  const cases: [string, Buffer, RegExp][] = [
    ['cut short', good.subarray(0, good.length - 3), /ends early/],
    ['trailing', Buffer.concat([good, Buffer.from([1])]), /left over/],
    ['unknown tag', Buffer.from([PACKED, 0, 0x7e]), /unknown tag 0x7e/],
    ['not finite', (() => { const w = new PackWriter(); w.reset(); w.char(PACKED); w.num(0); w.num(1); w.num(Infinity); for (let i = 0; i < 4; i++) w.absent(); return Buffer.from(w.text()); })(), /holds Infinity/],
  ];
  for (const [what, bytes, why] of cases) {
    store.data.set(`${NS}aggregates/u1`, bytes);
    const b2 = backend(store);
    b2.value<AggregateState>('aggregates', { codec });
    await assert.rejects(b2.load(['u1']), (e: unknown) => {
      assert.ok(e instanceof SluiceError, what);
      assert.equal(e.code, 'STATE_CORRUPT', what);
      assert.match(e.message, /state "aggregates" \(state\/job\/t0\/op\/\) for key "u1" is unreadable: not a packed state entry/, what);
      assert.match(e.message, why, what);
      assert.match(e.message, /--fresh/, what);
      return true;
    });
  }
  // A packed entry under a state declared without a codec (e.g. a step changed to another kind).
  store.data.set(`${NS}aggregates/u1`, good);
  const b3 = backend(store);
  b3.value<AggregateState>('aggregates');
  await assert.rejects(b3.load(['u1']), (e: unknown) => e instanceof SluiceError && e.code === 'STATE_CORRUPT' && /is unreadable: a packed entry, but this state is not stored packed/.test(e.message));
});

test('aggregates with `last` have no packed form: their state stays JSON', () => {
  assert.equal(aggregateStateCodec(compileAggregates({ n: { count: {} }, l: { last: 'x' } }), 'a'), undefined);
  assert.equal(keyWindowsCodec(compileAggregates({ l: { last: 'x' } }), 'w'), undefined);
});

test('pending windows: packed round trip to KeyWindows; key fields keep JSON; JSON entries become checked KeyWindows', async () => {
  const aggs = compileAggregates({ n: { count: {} }, mean: { avg: 'x' } });
  const wc = keyWindowsCodec(aggs, 'window "win"')!;
  const store = new MemoryStateStore();
  const b = backend(store);
  const v = b.value<KeyWindows | Record<string, unknown>>('windows', { codec: wc as never });
  await b.load(['a', 'f']);
  const k = new KeyWindows();
  k.set(1_767_225_600_000, { end: 1_767_225_660_000, acc: { 'count:n': 2, 'avg:mean': [0.30000000000000004, 2] } });
  k.set(-60_000, { end: 0, acc: {} });
  v.set('a', k);
  const f = new KeyWindows();
  f.set(0, { end: 10, acc: { 'count:n': 1 }, fields: { user: 'f' } });
  v.set('f', f);
  commit(b, store);
  assert.equal(store.data.get(`${NS}windows/a`)![0], PACKED);
  assert.equal(store.data.get(`${NS}windows/f`)!.toString(), '[{"0":{"end":10,"acc":{"count:n":1},"fields":{"user":"f"}}}]');
  store.apply([
    { key: `${NS}windows/old`, value: '[{"10":{"end":20,"acc":{"count:n":2}}}]' },
    { key: `${NS}windows/bad`, value: '[{"10":{"end":20,"acc":{"avg:mean":"x"}}}]' },
  ]);
  const b2 = backend(store);
  const v2 = b2.value<KeyWindows | Record<string, unknown>>('windows', { codec: wc as never });
  await b2.load(['a', 'f', 'old']);
  const a = v2.get('a');
  assert.ok(a instanceof KeyWindows);
  assert.deepEqual(a.starts, [1_767_225_600_000, -60_000]);
  assert.deepEqual(a.wins, k.wins);
  const old = v2.get('old');
  assert.ok(old instanceof KeyWindows, 'a JSON entry is read as KeyWindows');
  assert.deepEqual(old.wins, [{ end: 20, acc: { 'count:n': 2 } }]);
  assert.deepEqual((v2.get('f') as KeyWindows).wins[0]!.fields, { user: 'f' });
  await assert.rejects(b2.load(['bad']), (e: unknown) => e instanceof SluiceError && e.code === 'STATE_CORRUPT' && /"mean" \(avg\)/.test(e.message));
});

test('a JSON aggregate entry is checked only while live: an expired damaged one is deleted unread, as before', async () => {
  const store = new MemoryStateStore();
  store.apply([
    { key: `${NS}aggregates/gone`, value: '[{"avg:mean":5},100]' },
    { key: `${NS}aggregates/live`, value: '[{"avg:mean":5},5000]' },
  ]);
  const b = backend(store, new ManualClock(1000));
  b.value<AggregateState>('aggregates', { codec, ttlMs: 10_000 });
  await b.load(['gone']);
  assert.deepEqual(b.drainWrites(), [{ key: `${NS}aggregates/gone`, value: undefined }]);
  await assert.rejects(b.load(['live']), (e: unknown) => e instanceof SluiceError && e.code === 'STATE_CORRUPT');
});
