import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import { OnlineActivity } from '../../src/core/online-activity.js';
import { ModelRunner } from '../../src/model/index.js';
import { createMetrics } from '../../src/metrics/registry.js';
import { resolveOptions } from '../../src/model/options.js';
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

/** Nice values of this process's threads other than the main one (Linux: /proc/self/task/<tid>/stat, field 19). */
function threadNices(): number[] {
  const out: number[] = [];
  for (const tid of readdirSync('/proc/self/task')) {
    if (Number(tid) === process.pid) continue;
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    out.push(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
  }
  return out;
}

test('bulk batches beside online traffic run on a worker thread at a lower CPU priority; the main thread and the online worker keep theirs', { skip: process.platform !== 'linux' && 'per-thread nice values are read from Linux /proc' }, async () => {
  const base = getPriority(0);
  const activity = new OnlineActivity(200);
  const r = await ModelRunner.load({ name: 'nice', path: SMALL_MLP, workers: 2, maxBatchSize: 1024, bulkSliceRows: 64, bulkNice: 7, activity });
  try {
    const lowered = (): number => threadNices().filter((n) => n === Math.min(19, base + 7)).length;
    assert.equal(lowered(), 0, 'no thread starts lowered');
    const data = randomRows(1024, 8, 5);
    const want = (await directRun(SMALL_MLP, data, [1024, 8])).score!.data;
    activity.mark();
    const [bulk, online] = await Promise.all([r.infer(data, 1024, { wait: true }), r.infer(randomRows(2, 8, 6), 2, { priority: 10 })]);
    assert.deepEqual(bulk.score!.data, want, 'priority changes no output bit');
    assert.deepEqual(online.score!.dims, [2, 1]);
    assert.equal(lowered(), 1, 'exactly one thread (the bulk worker) runs lowered');
    assert.equal(getPriority(0), base, 'the main thread keeps its priority');
    // Once online traffic has stopped for the gate's window, bulk work takes every worker again, at the normal priority.
    await new Promise((res) => setTimeout(res, 250));
    assert.equal(activity.busy(), false);
    const more = randomRows(4096, 8, 6);
    assert.deepEqual((await r.infer(more, 4096, { wait: true })).score!.data, (await directRun(SMALL_MLP, more, [4096, 8])).score!.data);
    // Raising a priority back needs privilege (root or RLIMIT_NICE); without it the thread stays lowered, by design.
    if (process.getuid?.() === 0) assert.equal(lowered(), 0, 'the bulk worker is back at the normal priority');
  } finally {
    await r.close();
  }
});

test('bulkNice 0 leaves every thread at its priority', { skip: process.platform !== 'linux' && 'per-thread nice values are read from Linux /proc' }, async () => {
  const base = getPriority(0);
  const activity = new OnlineActivity(60_000);
  const r = await ModelRunner.load({ name: 'nonice', path: SMALL_MLP, workers: 2, maxBatchSize: 1024, bulkSliceRows: 64, bulkNice: 0, activity });
  try {
    activity.mark();
    await r.infer(randomRows(512, 8, 7), 512, { wait: true });
    assert.deepEqual(threadNices().filter((n) => n !== base), []);
  } finally {
    await r.close();
  }
  assert.throws(() => resolveOptions({ name: 'x', path: SMALL_MLP, bulkNice: 20 }), /bulkNice must be an integer from 0 to 19, got 20/);
});

test('the gate counts online requests in flight until they are answered or fail, and idle() waits for them, bounded', async () => {
  const activity = new OnlineActivity(60_000);
  const r = await ModelRunner.load({ name: 'gate', path: SMALL_MLP, workers: 1, activity });
  try {
    const p = r.infer(randomRows(1, 8, 8), 1, { priority: 10 });
    const bulk = r.infer(randomRows(4, 8, 8), 4);
    assert.equal(activity.inFlight, 1, 'only the online request counts');
    let idleAt = 0;
    const idle = activity.idle(60_000).then(() => (idleAt = performance.now()));
    await p;
    const answeredAt = performance.now();
    await idle;
    assert.ok(idleAt >= answeredAt - 1, 'idle() resolved once the online request was answered');
    assert.equal(activity.inFlight, 0);
    await bulk;
    await assert.rejects(r.infer(randomRows(1, 8, 8), 1, { priority: 10, deadline: Date.now() + 60_000, signal: AbortSignal.abort() }), /cancelled/);
    const bad = r.infer(new Float32Array(3), 1, { priority: 10 });
    await assert.rejects(bad, /INVALID_INPUT|expected/);
    assert.equal(activity.inFlight, 0, 'requests refused at the door never count');
  } finally {
    await r.close();
  }
  // Under a request that never ends, idle() still resolves after its bound.
  const stuck = new OnlineActivity();
  stuck.begin();
  const t0 = performance.now();
  await stuck.idle(30);
  assert.ok(performance.now() - t0 >= 25, 'waited about the bound');
  stuck.end();
  assert.equal(stuck.inFlight, 0);
});
