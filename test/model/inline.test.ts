import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { OnlineActivity } from '../../src/core/online-activity.js';
import type { SluiceError } from '../../src/core/errors.js';
import { ModelRunner } from '../../src/model/index.js';
import { SMALL_MLP, directRun, randomRows, tmpDir, writeOddModel } from './helpers.js';

// A budget no small batch can miss, so which batches run inline does not depend on the machine's speed.
const AMPLE_US = 1_000_000;

/** Starts bulk work (priority 0) on the runner's workers: 32 batches of maxBatch rows, so some are in flight for a while. */
function bulkWork(r: ModelRunner, width = 8, rows = 2048): Promise<unknown> {
  const p = r.infer(randomRows(rows, width, 77), rows, { wait: true });
  p.catch(() => undefined); // a failed assertion closes the runner: its SHUTTING_DOWN must not hide the assertion
  assert.ok(r.stats().inFlightBatches > 0, 'bulk work is running on a worker');
  return p;
}

test('beside bulk work, small online batches run on the main thread, batched together, with the same bits', async () => {
  const r = await ModelRunner.load({ name: 'inl', path: SMALL_MLP, workers: 1, inlineBudgetUs: AMPLE_US, maxBatchSize: 64, maxQueueRows: 100_000, activity: new OnlineActivity() });
  try {
    assert.equal(r.stats().inlineMaxRows, 64, 'every batch up to maxBatchSize fits an ample budget');
    const bulk = bulkWork(r);
    const rows = Array.from({ length: 10 }, (_, i) => randomRows(1, 8, 100 + i));
    // Ten requests read in one event-loop round: one batch, run inline.
    const outs = await Promise.all(rows.map((d) => r.infer(d, 1, { priority: 10, noDelay: true })));
    assert.equal(r.stats().inlineBatches, 1);
    const all = new Float32Array(80);
    rows.forEach((d, i) => all.set(d, i * 8));
    const want = await directRun(SMALL_MLP, all, [10, 8]);
    assert.deepEqual(Float32Array.from(outs.flatMap((o) => [...o.score!.data])), want.score!.data);
    await bulk;
  } finally {
    await r.close();
  }
});

test('without bulk work, online batches go to the workers; bulk work and bigger online requests always do', async () => {
  const r = await ModelRunner.load({ name: 'inl-big', path: SMALL_MLP, workers: 1, inlineBudgetUs: AMPLE_US, maxBatchSize: 16, maxQueueRows: 100_000, activity: new OnlineActivity() });
  try {
    const alone = randomRows(3, 8, 5);
    assert.deepEqual((await r.infer(alone, 3, { priority: 10, noDelay: true })).score!.data, (await directRun(SMALL_MLP, alone, [3, 8])).score!.data);
    assert.equal(r.stats().inlineBatches, 0, 'no bulk work: the online batch went to a worker');
    const bulk = randomRows(40, 8, 1);
    const big = randomRows(20, 8, 2);
    const [b, o] = await Promise.all([r.infer(bulk, 40), r.infer(big, 20, { priority: 10, noDelay: true })]);
    assert.equal(r.stats().inlineBatches, 0, 'neither a bulk request nor a 20-row online request (limit 16) ran inline');
    assert.deepEqual(b.score!.data, (await directRun(SMALL_MLP, bulk, [40, 8])).score!.data);
    assert.deepEqual(o.score!.data, (await directRun(SMALL_MLP, big, [20, 8])).score!.data);
    // A small online request beside bulk work runs inline, and bulk rows never join its batch.
    const both = await Promise.all([r.infer(randomRows(40, 8, 3), 40), r.infer(randomRows(1, 8, 4), 1, { priority: 10, noDelay: true })]);
    assert.deepEqual(both.map((x) => x.score!.dims[0]), [40, 1]);
    assert.equal(r.stats().inlineBatches, 1);
  } finally {
    await r.close();
  }
});

test('inline runs are off by default, with a budget of 0, and when one row does not fit the budget', async () => {
  for (const inlineBudgetUs of [undefined, 0, 0.001]) {
    const r = await ModelRunner.load({ name: 'inl-off', path: SMALL_MLP, workers: 1, maxBatchSize: 64, maxQueueRows: 100_000, activity: new OnlineActivity(), ...(inlineBudgetUs === undefined ? {} : { inlineBudgetUs }) });
    try {
      assert.equal(r.stats().inlineMaxRows, 0, `budget ${inlineBudgetUs}`);
      const bulk = bulkWork(r);
      await r.infer(randomRows(1, 8), 1, { priority: 10, noDelay: true });
      assert.equal(r.stats().inlineBatches, 0);
      await bulk;
    } finally {
      await r.close();
    }
  }
  await assert.rejects(ModelRunner.load({ name: 'bad', path: SMALL_MLP, inlineBudgetUs: -1 }), /inlineBudgetUs must be a number of microseconds >= 0/);
});

test('a model error in an inline batch fails that batch with MODEL_ERROR and the next one runs', async () => {
  const path = join(tmpDir(), 'odd.onnx');
  writeOddModel(path);
  const r = await ModelRunner.load({ name: 'odd', path, workers: 1, maxBatchSize: 64, inlineBudgetUs: AMPLE_US, maxQueueRows: 100_000, activity: new OnlineActivity() });
  try {
    const bulk = r.infer(new Float32Array(4 * 2048).fill(1), 2048, { wait: true }); // valid rows: Gather index 1
    bulk.catch(() => undefined);
    const bad = new Float32Array([9, 0, 0, 0]); // Gather index 9 of 8
    await assert.rejects(r.infer(bad, 1, { priority: 10, noDelay: true }), (e: SluiceError) => e.code === 'MODEL_ERROR' && /model "odd"/.test(e.message));
    const ok = await r.infer(new Float32Array([1, 2, 3, 0]), 1, { priority: 10, noDelay: true });
    assert.deepEqual([...ok.picked!.data], [10, 20, 30, 0]);
    assert.deepEqual([...ok.idx!.data], [2]);
    assert.equal(r.stats().inlineBatches, 2);
    assert.equal((await bulk).picked!.data.length, 4 * 2048);
  } finally {
    await r.close();
  }
});

test('while an inline batch runs, more waiting rows than one inline batch holds go to a worker', async () => {
  const activity = new OnlineActivity(60_000);
  const r = await ModelRunner.load({ name: 'inl-over', path: SMALL_MLP, workers: 2, inlineBudgetUs: AMPLE_US, maxBatchSize: 4, maxQueueRows: 100_000, activity });
  try {
    activity.mark(); // online traffic is recent: bulk work keeps to one worker, the other is free
    const bulk = bulkWork(r, 8, 4096);
    const rows = Array.from({ length: 12 }, (_, i) => randomRows(1, 8, 200 + i));
    const outs = await Promise.all(rows.map((d) => r.infer(d, 1, { priority: 10, noDelay: true })));
    // 4 rows inline; 8 still waiting, so 4 go to the free worker meanwhile; the last 4 wait for the inline run and run inline.
    assert.equal(r.stats().inlineBatches, 2);
    const all = new Float32Array(96);
    rows.forEach((d, i) => all.set(d, i * 8));
    assert.deepEqual(Float32Array.from(outs.flatMap((o) => [...o.score!.data])), (await directRun(SMALL_MLP, all, [12, 8])).score!.data);
    await bulk;
  } finally {
    await r.close();
  }
});
