import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { OnlineActivity } from '../../src/core/online-activity.js';
import { ModelRunner } from '../../src/model/index.js';
import { createMetrics } from '../../src/metrics/registry.js';
import { SMALL_MLP, directRun, randomRows } from './helpers.js';

/** Batches run so far and how many held more than `rows` rows (rows: a bucket bound of sluice_model_batch_rows). */
async function batches(metrics: ReturnType<typeof createMetrics>, model: string, rows: number): Promise<{ count: number; sum: number; larger: number }> {
  const h = (await metrics.modelBatchRows.get()).values.filter((v) => v.labels.model === model);
  const count = h.find((v) => v.metricName === 'sluice_model_batch_rows_count')!.value;
  const within = h.find((v) => v.metricName === 'sluice_model_batch_rows_bucket' && (v.labels as { le?: number | string }).le === rows)!.value;
  return { count, sum: h.find((v) => v.metricName === 'sluice_model_batch_rows_sum')!.value, larger: count - within };
}

test('while online requests are recent, bulk work runs in slices on one of two workers, and an online request overtakes it', async () => {
  const metrics = createMetrics();
  const activity = new OnlineActivity(60_000);
  const r = await ModelRunner.load({ name: 'mixed', path: SMALL_MLP, workers: 2, maxBatchSize: 4096, bulkSliceRows: 32, activity, metrics });
  try {
    const data = randomRows(2048, 8, 3);
    const want = await directRun(SMALL_MLP, data, [2048, 8]);
    activity.mark();
    const bulk = r.infer(data, 2048, { wait: true });
    // One 32-row slice in flight: no second bulk batch pipelined, the other worker kept free.
    assert.equal(r.stats().inFlightBatches, 1);
    let bulkDone = false;
    void bulk.then(() => (bulkDone = true));
    const online = await r.infer(randomRows(1, 8, 9), 1, { priority: 10 });
    assert.deepEqual(online.score!.dims, [1, 1]);
    assert.equal(bulkDone, false, 'the online request did not wait for the bulk request');
    const out = await bulk;
    assert.deepEqual(out.score!.dims, [2048, 1]);
    assert.deepEqual(out.score!.data, want.score!.data, 'slicing does not change a single output bit');
    const b = await batches(metrics, 'mixed', 32);
    assert.equal(b.sum, 2049);
    assert.equal(b.larger, 0, 'no batch held more than 32 rows');
    assert.ok(b.count >= 65, `2048 bulk rows in slices of 32 and the online row: ${b.count} batches`);
  } finally {
    await r.close();
  }
});

test('without recent online requests, bulk work keeps whole batches and every worker', async () => {
  const metrics = createMetrics();
  const r = await ModelRunner.load({ name: 'bulk', path: SMALL_MLP, workers: 2, maxBatchSize: 1024, bulkSliceRows: 32, activity: new OnlineActivity(), metrics });
  try {
    const data = randomRows(4096, 8, 4);
    const bulk = r.infer(data, 4096, { wait: true });
    assert.equal(r.stats().inFlightBatches, 4, 'two full batches per worker (pipelined)');
    const out = await bulk;
    assert.deepEqual(out.score!.data, (await directRun(SMALL_MLP, data, [4096, 8])).score!.data);
    const b = await batches(metrics, 'bulk', 512);
    assert.deepEqual({ count: b.count, sum: b.sum, larger: b.larger }, { count: 4, sum: 4096, larger: 4 });
  } finally {
    await r.close();
  }
});
