import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryLogger } from '../../src/core/logger.js';
import { onlineActivity } from '../../src/core/online-activity.js';
import { createMetrics } from '../../src/metrics/registry.js';
import { Job } from '../../src/runtime/job.js';
import { topology } from '../../src/topology/builder.js';

async function lines(dir: string): Promise<string[]> {
  let text = '';
  for (const n of (await readdir(dir)).sort()) text += await readFile(join(dir, n), 'utf8');
  return text.trim().split('\n');
}

/** Runs a 3,000-row JSONL backfill (one bad line) with 600-row batches; returns its outputs and the map step's batch sizes. */
async function backfill(dir: string, out: string): Promise<{ rows: string[]; dead: string[]; summary: { in: number; out: number; dead: number }; batches: number[] }> {
  const def = topology('yield')
    .source('rows', { type: 'file', path: 'in.jsonl', format: 'jsonl' })
    .map({ id: 'double', set: { y: 'n * 2' } })
    .to('out')
    .sink('out', { type: 'file', path: `${out}/scored`, format: 'jsonl' })
    .sink('dlq', { type: 'file', path: `${out}/dlq`, format: 'jsonl' })
    .deadLetter('dlq')
    .runtime({ batchSize: 600 })
    .build();
  const metrics = createMetrics();
  const s = await (await Job.start({ definition: def, baseDir: dir }, { untilIdle: true, fresh: true, dataDir: join(dir, `data-${out}`), logger: memoryLogger(), metrics })).done;
  const h = (await metrics.operatorBatchSize.get()).values.filter((v) => v.labels.operator === 'double' && v.metricName === 'sluice_operator_batch_size_bucket');
  const batches = [h.find((v) => (v.labels as { le?: number | string }).le === 512)!.value, h.find((v) => (v.labels as { le?: number | string }).le === '+Inf')!.value];
  return { rows: await lines(join(dir, out, 'scored')), dead: await lines(join(dir, out, 'dlq')), summary: { in: s.recordsIn, out: s.recordsOut, dead: s.deadLettered }, batches };
}

test('while online requests are recent, a backfill hands its batches over in slices and yields, with the same results', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-yield-'));
  try {
    const rows = Array.from({ length: 3000 }, (_, n) => (n === 1500 ? 'not json' : JSON.stringify({ n })));
    await writeFile(join(dir, 'in.jsonl'), rows.join('\n') + '\n');
    const quiet = await backfill(dir, 'quiet');
    assert.deepEqual(quiet.summary, { in: 3000, out: 2999, dead: 1 });
    assert.deepEqual(quiet.batches, [0, 5], 'five whole 600-row batches without online traffic (read in pieces, handed out exactly)');

    // An online request "arrives" every 5 ms while the second run goes on, and one stays in
    // flight throughout: each slice waits for it only up to its bound, so the backfill finishes.
    onlineActivity.begin();
    const timer = setInterval(() => onlineActivity.mark(), 5);
    let busy;
    try {
      busy = await backfill(dir, 'busy');
    } finally {
      clearInterval(timer);
      onlineActivity.end();
    }
    assert.deepEqual(busy.summary, quiet.summary);
    assert.deepEqual(busy.rows, quiet.rows, 'the same rows, in the same order');
    assert.equal(busy.dead.length, 1);
    assert.match(busy.dead[0]!, /in\.jsonl:1501: not valid JSON/);
    assert.equal(busy.batches[0], busy.batches[1], 'no batch over 512 rows while online requests were recent');
    assert.ok(busy.batches[1]! >= 12, `3,000 rows in batches of at most 256: ${busy.batches[1]} batches`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
