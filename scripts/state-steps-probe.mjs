// The stateful steps of the stream-stateful job (Zipf keys by default) (aggregate → 1m tumbling window, emit
// close) alone, in one process: no log, no JSON, no model, state in a memory store seeded with
// 1M users' aggregates. It reports the main thread's µs per record for the two steps (batch
// making and store writes are timed apart and left out), which the whole benchmark cannot
// show steadily on a 2-core machine: its run-to-run spread is larger than most changes to
// these steps. Usage (after `npm run build`):
//   node scripts/state-steps-probe.mjs [--records N] [--checkpoint-batches B] [--cache ENTRIES] [--uniform]
// --uniform: the benchmark's worst case instead (every record a different user).
// DIST=path/to/another/dist compares a second build (e.g. before a change), run alternately.
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i < 0 ? dflt : Number(args[i + 1]);
};
const N = opt('--records', 600_000);
const CKPT = opt('--checkpoint-batches', 80); // ~1 s of records at the job's rate, as in the benchmark
const CACHE = opt('--cache', 100_000);
const UNIFORM = args.includes('--uniform');
const dist = process.env.DIST ?? new URL('../dist', import.meta.url).pathname;
const { aggregateOperator } = await import(`${dist}/src/operators/aggregate.js`);
const { windowOperator } = await import(`${dist}/src/operators/window.js`);
const { KeyedStateBackend, MemoryStateStore, addInputs, aggregateStateCodec, compileAggregates } = await import(`${dist}/src/state/index.js`);
const { systemClock } = await import(`${dist}/src/core/clock.js`);
// The benchmark's own Zipf draw (exponent 1, same seed and scatter over user ids), from this checkout's build.
const { zipfUsers } = await import(new URL('../dist/bench/benchmarks/stream-stateful.js', import.meta.url).href);

const USERS = 1_000_000;
const BATCH = 1024;
const T0 = Date.UTC(2026, 0, 1);
const AGG = { txn_count: { count: {} }, avg_amount: { avg: 'amount' }, max_amount: { max: 'amount' } };
const userKey = (u) => `u${u.toString().padStart(7, '0')}`;

const store = new MemoryStateStore();
const aggs = compileAggregates(AGG);
{
  const b = new KeyedStateBackend(store, { namespace: 'state/p/t0/agg/', clock: systemClock });
  const st = b.value('aggregates', { codec: aggregateStateCodec(aggs, 'seed') });
  for (let u = 0; u < USERS; u++) {
    st.set(userKey(u), addInputs(aggs, {}, [undefined, 1, 1], T0 - 1));
    if (u % 50_000 === 49_999) {
      store.apply(b.drainWrites());
      b.markCommitted();
    }
  }
}
let keysRead = 0;
const getMany = store.getMany.bind(store);
store.getMany = (keys) => {
  keysRead += keys.length;
  return getMany(keys);
};
const backends = new Map();
const deps = {
  models: new Map(),
  loadUdf: () => Promise.reject(new Error('no UDFs here')),
  state: (id) => {
    const b = new KeyedStateBackend(store, { namespace: `state/p/t0/${id}/`, clock: systemClock, cacheEntries: CACHE });
    backends.set(id, b);
    return b;
  },
};
const agg = await aggregateOperator.create({ aggregates: AGG }, deps, 'agg');
const win = await windowOperator.create({ window: { tumbling: '1m' }, aggregates: { n: { count: {} }, avg_score: { avg: 'score' }, max_score: { max: 'score' }, txn_count: { max: 'txn_count' } }, emit: 'close' }, deps, 'win');
const ctx = (op) => ({ operatorId: op.id, clock: systemClock, deadLetter: (_r, e) => { throw e; }, emit: () => {} });

let j = 0;
// Uniform: record j → user (j·7919) mod USERS, as in the benchmark (no user repeats within USERS records).
const user = UNIFORM ? () => (j++ * 7919) % USERS : zipfUsers(USERS, 1.0, 12345);
/** Time spent outside the steps (making batches, applying writes to the store), left out of the result. */
let asideMs = 0;
const aside = (fn) => {
  const t = performance.now();
  const r = fn();
  asideMs += performance.now() - t;
  return r;
};
const makeBatch = (k) =>
  aside(() => {
    const b = [];
    for (let j = k * BATCH; j < (k + 1) * BATCH; j++) {
      // Through a Buffer, as keys decoded from a log are: fresh strings, not literals.
      const key = Buffer.from(userKey(user())).toString('latin1');
      b.push({ key, value: { id: j, user: key, amount: ((j * 7) % 10_000) / 100, score: (j % 997) / 997 }, timestamp: T0 + j, headers: {}, position: { source: 'in', partition: 0, offset: j } });
    }
    return b;
  });
let results = 0;
let writes = 0;
async function runBatch(b, k) {
  agg.prefetch(b);
  const a = await agg.process(b, ctx(agg));
  win.prefetch(a);
  results += (await win.process(a, ctx(win))).length;
  if (k % CKPT === CKPT - 1) {
    const w = [...agg.drainState(), ...win.drainState()];
    writes += w.length;
    aside(() => store.apply(w));
    for (const be of backends.values()) be.markCommitted();
  }
}
const batches = Math.floor(N / BATCH);
const warm = Math.floor(batches / 6);
for (let k = 0; k < warm; k++) await runBatch(makeBatch(k), k);
asideMs = keysRead = writes = results = 0;
const t0 = performance.now();
for (let k = warm; k < batches; k++) await runBatch(makeBatch(k), k);
const ms = performance.now() - t0 - asideMs;
const n = (batches - warm) * BATCH;
console.log(`${n} records: ${((ms * 1000) / n).toFixed(3)} µs/record in the stateful steps (wall, main thread); per record: ${(results / n).toFixed(3)} window results, ${(keysRead / n).toFixed(3)} keys read from the store, ${(writes / n).toFixed(3)} state writes`);
