import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ColumnarBatch } from '../../src/core/columns.js';
import type { StreamRecord } from '../../src/core/record.js';
import { windowOperator } from '../../src/operators/window.js';
import { Harness } from '../state/helpers.js';
import { columns } from './columns-helper.js';

type Config = Parameters<typeof windowOperator.create>[0];

/** What a run gives, as plain data: passed rows, dead letters, late records and the stored state. */
async function runBoth(config: Partial<Config>, batches: ColumnarBatch[], fields: string[]) {
  const full = { window: { sliding: { size: 30, slide: 10 } }, aggregates: { n: { count: {} }, total: { sum: 'amount' }, top: { max: 'amount' }, mean: { avg: 'amount' }, tag: { last: 'tag' } }, emit: 'enrich', eventTime: 't', ...config } as Config;
  const byRecords = new Harness();
  const byColumns = new Harness();
  const opR = await byRecords.create(windowOperator, full, 'win');
  const opC = await byColumns.create(windowOperator, full, 'win');
  assert.ok(opC.processColumns, 'enrich mode works on columns');
  const rowsR: string[] = [];
  const rowsC: string[] = [];
  const show = (r: StreamRecord) => `${r.position.offset} ${r.key} ${fields.map((f) => `${f}=${JSON.stringify(r.value[f])}`).join(' ')}`;
  for (const b of batches) {
    // Records as the runtime would make them from the same batch, before the columnar run changes it.
    const records = b.toRecords();
    for (const r of await opR.process(records, byRecords.ctx(opR))) rowsR.push(show(r));
    byRecords.commit(opR);
    const out = await opC.processColumns!(b, byColumns.ctx(opC));
    for (const r of out.toRecords()) rowsC.push(show(r));
    byColumns.commit(opC);
  }
  const dead = (h: Harness) => h.dead.map((d) => `${d.record.position.offset} ${d.error.code}: ${d.error.message}`);
  const late = (h: Harness) => (h.emitted.get('late') ?? []).map(show);
  return {
    records: { rows: rowsR, dead: dead(byRecords), late: late(byRecords), store: [...byRecords.store.data].map(([k, v]) => `${k}=${v.toString()}`) },
    columns: { rows: rowsC, dead: dead(byColumns), late: late(byColumns), store: [...byColumns.store.data].map(([k, v]) => `${k}=${v.toString()}`) },
  };
}

const fields = ['n', 'total', 'top', 'mean', 'tag'];

test('enrich on columns gives the rows, dead letters, late records and stored state of enrich on records', async () => {
  const b1 = columns(
    [
      { t: 0, amount: 1, tag: 'x' },
      { t: 9, amount: 2, tag: 'y' },
      { t: 12, amount: 4, tag: 'z' },
      { t: 13, amount: 'oops', tag: 'w' }, // not a number: dead-lettered
      { t: 14, amount: 8, tag: null },
      { t: 'soon', amount: 1, tag: 'q' }, // bad event time
      { t: 15, amount: 1, tag: 'k' }, // no key
    ],
    ['a', 'a', 'a', 'a', 'b', 'a', null],
  );
  const b2 = columns(
    [
      { t: 29, amount: 8, tag: 's' },
      { t: 30, amount: 16, tag: 't' },
      { t: 5, amount: 100, tag: 'late' }, // every window closed: to the late sink
      { t: 39, amount: 32, tag: 'u' },
      { t: 40, amount: 64, tag: 'v' },
    ],
    ['a', 'b', 'a', 'a', 'a'],
  );
  const b3 = columns([{ t: 75, amount: 128, tag: 'end' }, { t: 76, amount: 1, tag: 'end2' }], ['a', 'b']);
  const { records, columns: cols } = await runBoth({ late: 'late' }, [b1, b2, b3], fields);
  assert.ok(records.rows.length >= 8 && records.dead.length === 3 && records.late.length === 1, 'the case covers passed, dead-lettered and late rows');
  assert.ok(records.rows.some((r) => r.includes('"total":15') || r.includes('total=15')), 'and rows that read a window');
  assert.deepEqual(cols, records);
});

test('enrich on clean number columns (the vector path), with event times from the batch timestamp, matches records', async () => {
  const batches = Array.from({ length: 4 }, (_, j) =>
    columns(
      Array.from({ length: 50 }, (_, i) => ({ amount: (i * 7 + j) % 13, tag: `t${i}` })),
      Array.from({ length: 50 }, (_, i) => `k${(i * 3) % 5}`),
      j * 10 + 3,
    ),
  );
  const { records, columns: cols } = await runBoth({ window: { tumbling: 10 }, eventTime: undefined as unknown as string, aggregates: { n: { count: {} }, total: { sum: 'amount * 2' }, mean: { avg: 'amount' } } }, batches, ['n', 'total', 'mean']);
  assert.equal(records.rows.length, 200);
  assert.ok(records.rows.some((r) => r.includes('n=') && !r.includes('n=null')), 'later batches read earlier windows');
  assert.deepEqual(cols, records);
});

test('enrich on columns matches records on a long shuffled input: sliding windows, out-of-order and late rows, many batches', async () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const batches: ColumnarBatch[] = [];
  let t = 1000;
  for (let b = 0; b < 30; b++) {
    const rows: Record<string, unknown>[] = [];
    const keys: string[] = [];
    for (let i = 0; i < 40; i++) {
      t += Math.floor(random() * 4);
      // Mostly in order, some up to 70 behind (within maxOutOfOrderness 10 + allowedLateness 5, or late).
      const jitter = random() < 0.2 ? Math.floor(random() * 70) : 0;
      rows.push({ t: t - jitter, amount: Math.floor(random() * 100) / 4, tag: `r${b}.${i}` });
      keys.push(`k${Math.floor(random() * random() * 6)}`);
    }
    batches.push(columns(rows, keys));
  }
  const { records, columns: cols } = await runBoth({ window: { sliding: { size: 30, slide: 10 } }, maxOutOfOrderness: 10, allowedLateness: 5, late: 'late' }, batches, fields);
  assert.ok(records.late.length > 0 && records.rows.length > 900, `some rows are late (${records.late.length}), most pass (${records.rows.length})`);
  assert.deepEqual(cols, records);
});

test('enrich on columns: a record of the same key and slide skips a window that closed since the previous one', async () => {
  // a@12 joins [-10, 20), [0, 30), [10, 40); b@25 closes [-10, 20); a@15 joins only the other two,
  // so a@22 reads [-10, 20) holding a@12 alone.
  const b1 = columns([{ t: 12, amount: 1 }, { t: 25, amount: 1 }, { t: 15, amount: 2 }], ['a', 'b', 'a']);
  const b2 = columns([{ t: 22, amount: 4 }], ['a']);
  const { records, columns: cols } = await runBoth({ window: { sliding: { size: 30, slide: 10 } }, aggregates: { n: { count: {} }, total: { sum: 'amount' } } }, [b1, b2], ['n', 'total']);
  assert.equal(records.rows.at(-1), `${b2.offsets[0]} a n=1 total=1`);
  assert.deepEqual(cols, records);
});
