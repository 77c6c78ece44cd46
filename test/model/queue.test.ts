import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import type { SluiceError } from '../../src/core/errors.js';
import { ModelRunner } from '../../src/model/index.js';
import { SMALL_MLP, randomRows } from './helpers.js';

const row = (n = 1): Float32Array => randomRows(n, 8, n);
const code = (c: string) => (e: SluiceError) => e.code === c;

test('higher priority runs first, FIFO within a priority', async () => {
  // One worker, no batching delay: the first request occupies the worker; the rest
  // queue and then go out together as one batch, in priority order.
  const r = await ModelRunner.load({ name: 'prio', path: SMALL_MLP, workers: 1, maxBatchSize: 16, maxQueueDelayMs: 0 });
  try {
    const order: string[] = [];
    const send = (name: string, priority: number) => r.infer(row(), 1, { priority }).then(() => order.push(name));
    await Promise.all([send('first', 0), send('low-a', 0), send('high', 5), send('mid', 1), send('low-b', 0), send('high-b', 5)]);
    assert.deepEqual(order, ['first', 'high', 'high-b', 'mid', 'low-a', 'low-b']);
  } finally {
    await r.close();
  }
});

test('an expired request is rejected with DEADLINE_EXCEEDED before it runs', async () => {
  const clock = new ManualClock(0);
  const r = await ModelRunner.load({ name: 'dl', path: SMALL_MLP, workers: 1, maxBatchSize: 16, maxQueueDelayMs: 2, clock });
  try {
    await assert.rejects(r.infer(row(), 1, { deadline: 0 }), code('DEADLINE_EXCEEDED'));
    const late = r.infer(row(), 1, { deadline: 1 });
    const fine = r.infer(row(), 1);
    clock.advance(5); // the batch timer fires at 2 ms, after the deadline
    await assert.rejects(late, (e: SluiceError) => e.code === 'DEADLINE_EXCEEDED' && e.retriable);
    assert.deepEqual((await fine).score!.dims, [1, 1]);
  } finally {
    await r.close();
  }
});

test('a full queue rejects with OVERLOADED; wait: true waits for room', async () => {
  const clock = new ManualClock(0);
  const r = await ModelRunner.load({ name: 'q', path: SMALL_MLP, workers: 1, maxBatchSize: 16, maxQueueRows: 8, clock });
  try {
    const a = r.infer(row(5), 5);
    const b = r.infer(row(3), 3);
    assert.equal(r.stats().queuedRows, 8);
    await assert.rejects(r.infer(row(), 1), code('OVERLOADED'));
    const waiting = r.infer(row(2), 2, { wait: true });
    const givesUp = r.infer(row(), 1, { wait: true, deadline: 1 });
    await assert.rejects(r.infer(row(), 1), code('OVERLOADED'), 'no overtaking the waiters');
    clock.advance(1);
    await assert.rejects(givesUp, code('DEADLINE_EXCEEDED'));
    clock.advance(1); // the 8 queued rows go to the worker; the waiter gets in
    await Promise.all([a, b]);
    assert.equal(r.stats().queuedRows, 2);
    clock.advance(2);
    assert.deepEqual((await waiting).score!.dims, [2, 1]);
    // Larger than the whole queue: accepted because the queue is empty.
    const big = r.infer(row(20), 20);
    for (let i = 0; i < 500 && r.stats().queuedRows > 0; i++) {
      await new Promise((res) => setTimeout(res, 10));
      clock.advance(2);
    }
    assert.deepEqual((await big).score!.dims, [20, 1]);
  } finally {
    await r.close();
  }
});

test('close() rejects queued work with SHUTTING_DOWN, finishes work in flight, and is idempotent', async () => {
  const clock = new ManualClock(0);
  const r = await ModelRunner.load({ name: 'c', path: SMALL_MLP, workers: 1, maxBatchSize: 4, clock });
  const running = r.infer(row(4), 4); // a full batch: dispatched at once
  const queued = r.infer(row(), 1); // waits for the (manual) batch timer
  const closing = r.close();
  await assert.rejects(queued, code('SHUTTING_DOWN'));
  assert.deepEqual((await running).score!.dims, [4, 1]);
  await closing;
  await r.close();
  assert.equal(r.stats().workers, 0);
  await assert.rejects(r.infer(row(), 1), code('SHUTTING_DOWN'));
});
