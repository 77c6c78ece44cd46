import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../src/core/clock.js';
import type { StreamRecord } from '../../src/core/record.js';
import type { Operator } from '../../src/operators/index.js';
import { OperatorChain } from '../../src/runtime/chain.js';
import { BoundedQueue } from '../../src/runtime/queue.js';

const rec = (n: number): StreamRecord => ({ key: null, value: { n }, timestamp: 0, headers: {}, position: { source: 's', partition: 0, offset: n } });

test('a stateful operator sees batches in order even when a concurrent step before it finishes out of order', async () => {
  const seen: number[] = [];
  let active = 0;
  let maxActive = 0;
  const slow: Operator = {
    id: 'slow',
    kind: 'test',
    concurrent: true,
    async process(batch) {
      // Earlier batches take longer, so they would arrive later without the chain's turns.
      await new Promise((r) => setTimeout(r, 40 - 10 * (batch[0]!.value.n as number)));
      return batch;
    },
  };
  const stateful: Operator = {
    id: 'stateful',
    kind: 'test',
    async process(batch) {
      active++;
      maxActive = Math.max(maxActive, active);
      seen.push(batch[0]!.value.n as number);
      await new Promise((r) => setTimeout(r, 5));
      active--;
      return batch;
    },
  };
  const chain = new OperatorChain([slow, stateful], { onError: 'deadLetter', clock: systemClock });
  await Promise.all([0, 1, 2, 3].map((n) => chain.run([rec(n)])));
  assert.deepEqual(seen, [0, 1, 2, 3]);
  assert.equal(maxActive, 1, 'a non-concurrent operator is never called concurrently');
});

test('BoundedQueue applies backpressure and drains after close', async () => {
  const q = new BoundedQueue<number>(2);
  await q.push(1);
  await q.push(2);
  let third = false;
  const pending = q.push(3).then(() => (third = true));
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(third, false, 'push waits while the queue is full');
  assert.equal(await q.shift(), 1);
  await pending;
  q.close();
  assert.deepEqual([await q.shift(), await q.shift(), await q.shift()], [2, 3, undefined]);
});
