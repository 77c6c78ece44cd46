import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aggregateOperator } from '../../src/operators/aggregate.js';
import { Harness, rec } from '../state/helpers.js';

const config = {
  aggregates: { txn_count: { count: {} }, avg_amount: { avg: 'amount' }, max_amount: { max: 'amount' }, last_country: { last: 'country' } },
};
const pick = (v: Record<string, unknown>) => [v.txn_count, v.avg_amount, v.max_amount, v.last_country];

test('aggregate sets running values per key, including the record itself, across a restart', async () => {
  const h = new Harness();
  const op = await h.create(aggregateOperator, config, 'agg');
  const out = await h.run(op, [rec({ amount: 10, country: 'fr' }, 'u1', 1), rec({ amount: 5, country: 'us' }, 'u2', 2), rec({ amount: 20, country: 'de' }, 'u1', 3)]);
  assert.deepEqual(out.map((r) => pick(r.value)), [[1, 10, 10, 'fr'], [1, 5, 5, 'us'], [2, 15, 20, 'de']]);

  const h2 = h.restart();
  const op2 = await h2.create(aggregateOperator, config, 'agg');
  const [r] = await h2.run(op2, [rec({ amount: 30, country: 'it' }, 'u1', 4)]);
  assert.deepEqual(pick(r!.value), [3, 20, 30, 'it']);
});

test('aggregate dead-letters records without a key or with a non-numeric value, and leaves state alone', async () => {
  const h = new Harness();
  const op = await h.create(aggregateOperator, config, 'agg');
  const out = await h.run(op, [rec({ amount: 1 }, null), rec({ amount: 'ten' }, 'u1'), rec({ country: 'fr' }, 'u1'), rec({ amount: 4 }, 'u1')]);
  assert.deepEqual(out.map((r) => r.value.txn_count), [1]);
  assert.deepEqual(h.dead.map((d) => d.error.code), ['INVALID_INPUT', 'INVALID_INPUT', 'INVALID_INPUT']);
  assert.match(h.dead[0]!.error.message, /aggregate "agg" needs keyed records.*add a keyBy step/);
  assert.match(h.dead[1]!.error.message, /avg "avg_amount" needs a number from `amount`; got string "ten"/);
  assert.match(h.dead[2]!.error.message, /got null/);
});

test('aggregate ttl forgets idle keys', async () => {
  const h = new Harness();
  const op = await h.create(aggregateOperator, { aggregates: { n: { count: {} } }, ttl: '1s' }, 'agg');
  await h.run(op, [rec({}, 'u1'), rec({}, 'u1')]);
  h.clock.advance(999);
  assert.equal((await h.run(op, [rec({}, 'u1')]))[0]!.value.n, 3, 'each write refreshes the ttl');
  h.clock.advance(1000);
  assert.equal((await h.run(op, [rec({}, 'u1')]))[0]!.value.n, 1);
});
