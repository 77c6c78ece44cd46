/** Cancelling a queued request (its caller went away) frees its rows in the queue at once; the others are served. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ModelRunner } from '../../src/model/index.js';
import { SluiceError } from '../../src/core/errors.js';
import { SMALL_MLP, randomRows } from './helpers.js';

test('an aborted signal takes a queued request out of the queue with CANCELLED', async () => {
  const runner = await ModelRunner.load({ name: 'm', path: SMALL_MLP, workers: 1, maxQueueDelayMs: 200, maxBatchSize: 1024, maxQueueRows: 4 });
  try {
    const ac = new AbortController();
    const cancelled = runner.infer(randomRows(3, 8), 3, { signal: ac.signal });
    const rejected = assert.rejects(cancelled, (e: unknown) => e instanceof SluiceError && e.code === 'CANCELLED');
    assert.equal(runner.stats().queuedRows, 3);
    // The queue holds 4 rows: 2 more do not fit until the cancelled 3 leave.
    await assert.rejects(runner.infer(randomRows(2, 8), 2), /queue full/);
    ac.abort();
    await rejected;
    assert.equal(runner.stats().queuedRows, 0);
    const ok = await runner.infer(randomRows(2, 8), 2);
    assert.equal(ok.score!.data.length, 2);
    // Already aborted: refused before it queues.
    await assert.rejects(runner.infer(randomRows(1, 8), 1, { signal: AbortSignal.abort() }), /cancelled/);
  } finally {
    await runner.close();
  }
});
