import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StreamRecord } from '../../src/core/record.js';
import { aggregateOperator } from '../../src/operators/aggregate.js';
import { Harness } from '../state/helpers.js';
import { columns } from './columns-helper.js';

type Config = Parameters<typeof aggregateOperator.create>[0];

test('aggregate on columns gives the rows, dead letters and stored state of aggregate on records', async () => {
  const config = { aggregates: { n: { count: {} }, total: { sum: 'amount * 2' }, top: { max: 'amount' }, mean: { avg: 'amount' }, tag: { last: 'tag' } } } as Config;
  const batches = [
    columns([{ amount: 1, tag: 'x' }, { amount: 2, tag: null }, { amount: 'oops', tag: 'w' }, { amount: 4, tag: 'y' }, { amount: 8, tag: 'k' }], ['a', 'b', 'a', null, 'a'], 5),
    // Clean numbers: the inputs come from whole columns.
    columns(Array.from({ length: 30 }, (_, i) => ({ amount: i % 7, tag: `t${i}` })), Array.from({ length: 30 }, (_, i) => `k${i % 4}`), 9),
    columns([{ amount: 3, tag: 'z' }, { amount: null, tag: 'q' }], ['a', 'b'], 12),
  ];
  const fields = ['n', 'total', 'top', 'mean', 'tag'];
  const show = (r: StreamRecord) => `${r.position.offset} ${r.key} ${fields.map((f) => `${f}=${JSON.stringify(r.value[f])}`).join(' ')}`;
  const byRecords = new Harness();
  const byColumns = new Harness();
  const opR = await byRecords.create(aggregateOperator, config, 'agg');
  const opC = await byColumns.create(aggregateOperator, config, 'agg');
  const rowsR: string[] = [];
  const rowsC: string[] = [];
  for (const b of batches) {
    for (const r of await opR.process(b.toRecords(), byRecords.ctx(opR))) rowsR.push(show(r));
    byRecords.commit(opR);
    for (const r of (await opC.processColumns!(b, byColumns.ctx(opC))).toRecords()) rowsC.push(show(r));
    byColumns.commit(opC);
  }
  const dead = (h: Harness) => h.dead.map((d) => `${d.record.position.offset} ${d.error.code}: ${d.error.message}`);
  const store = (h: Harness) => [...h.store.data].map(([k, v]) => `${k}=${v.toString()}`);
  assert.equal(rowsR.length, 34);
  assert.equal(dead(byRecords).length, 3, 'a non-number, a missing key and a null amount');
  assert.deepEqual(rowsC, rowsR);
  assert.deepEqual(dead(byColumns), dead(byRecords));
  assert.deepEqual(store(byColumns), store(byRecords));
});
