/** noDelay (online requests): no wait for the default batching delay, but still one batch per event-loop round. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import { createMetrics } from '../../src/metrics/registry.js';
import { ModelRunner } from '../../src/model/index.js';
import { SMALL_MLP, randomRows } from './helpers.js';

/** Inference calls and rows so far, from the runner's batch-size histogram. */
async function batches(metrics: ReturnType<typeof createMetrics>): Promise<{ calls: number; rows: number }> {
  const text = await metrics.registry.getSingleMetricAsString('sluice_model_batch_rows');
  const get = (s: string) => Number(new RegExp(`sluice_model_batch_rows_${s}\\{[^}]*\\} (\\S+)`).exec(text)?.[1] ?? 0);
  return { calls: get('count'), rows: get('sum') };
}

const settledSoon = async (p: Promise<unknown>): Promise<boolean> => {
  let done = false;
  void p.then(() => (done = true), () => (done = true));
  for (let i = 0; i < 50 && !done; i++) await new Promise((r) => setTimeout(r, 5));
  return done;
};

test('noDelay requests made in one round run as one batch without the clock moving', async () => {
  const metrics = createMetrics();
  // A manual clock that never moves: a request waiting for the 2 ms default delay would never run.
  const r = await ModelRunner.load({ name: 'nd', path: SMALL_MLP, workers: 1, metrics, clock: new ManualClock(0) });
  try {
    const before = await batches(metrics);
    const data = randomRows(5, 8);
    const all = Promise.all(Array.from({ length: 5 }, (_, i) => r.infer(data.slice(i * 8, i * 8 + 8), 1, { noDelay: true })));
    assert.equal(await settledSoon(all), true, 'noDelay requests ran without the clock moving');
    assert.equal((await all).length, 5);
    const after = await batches(metrics);
    assert.deepEqual({ calls: after.calls - before.calls, rows: after.rows - before.rows }, { calls: 1, rows: 5 });
    // The same without noDelay waits for the delay timer, which this clock never fires.
    assert.equal(await settledSoon(r.infer(data.slice(0, 8), 1)), false);
  } finally {
    await r.close().catch(() => undefined);
  }
});

test('an explicitly configured maxQueueDelayMs still holds noDelay requests', async () => {
  const clock = new ManualClock(0);
  const r = await ModelRunner.load({ name: 'nd2', path: SMALL_MLP, workers: 1, maxQueueDelayMs: 50, clock });
  try {
    const p = r.infer(randomRows(1, 8), 1, { noDelay: true });
    assert.equal(await settledSoon(p), false);
    clock.advance(50);
    assert.deepEqual((await p).score!.dims, [1, 1]);
  } finally {
    await r.close();
  }
});
