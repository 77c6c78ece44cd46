import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedLog } from '../../connectors/embedded/index.js';
import { createParquetWriter, readParquetColumns, columnBatchToRows } from '../../connectors/parquet/index.js';
import { memoryLogger } from '../../src/core/logger.js';
import { operatorCatalog } from '../../src/operators/index.js';
import { Job } from '../../src/runtime/job.js';
import { runTopology } from '../../src/testing/index.js';
import { loadTopologyFile } from '../../src/topology/load.js';
import { rocAuc } from '../../examples/flight-delay/auc.js';
import { readParts } from '../batch/helpers.js';

const TOPOLOGY = 'examples/flight-delay/topology.yaml';
const check = JSON.parse(readFileSync('examples/flight-delay/model/check-rows.json', 'utf8')) as {
  p_delayed_tolerance: number;
  rows: { date_ms: number; delay: number; distance: number; origin: string; destination: string; features: Record<string, number>; p_delayed: number }[];
};

test('the topology computes the training script\'s features and the model gives its probabilities', async () => {
  const loaded = loadTopologyFile(TOPOLOGY, operatorCatalog);
  const input = check.rows.map((r) => ({ date: r.date_ms, delay: r.delay, distance: r.distance, origin: r.origin, destination: r.destination }));
  // The keep step drops the features; check them on a copy of the pipeline without it.
  const def = { ...loaded.definition, pipeline: loaded.definition.pipeline.filter((s) => !('map' in s && (s.map as { keep?: unknown }).keep)) };
  const r = await runTopology({ ...loaded, definition: def }, { flights: input });
  assert.equal(r.outputs.scored!.length, check.rows.length);
  r.outputs.scored!.forEach((got, i) => {
    const want = check.rows[i]!;
    for (const [f, v] of Object.entries(want.features)) assert.equal(got[f], v, `row ${i} feature ${f}`);
    assert.ok(Math.abs((got.delay_probability as number) - want.p_delayed) <= check.p_delayed_tolerance, `row ${i}: ${String(got.delay_probability)} vs ${want.p_delayed}`);
  });
});

test('backfill over Parquet and streaming over a topic give identical scores for the same records', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-parity-'));
  const log = await EmbeddedLog.open(join(dir, 'data'));
  try {
    // 30,000 real flights, with some nulls and a wrong type to be dead-lettered the same way.
    const rows: Record<string, unknown>[] = [];
    for await (const b of readParquetColumns('node_modules/vega-datasets/data/flights-3m.parquet', { columns: ['date', 'delay', 'distance', 'origin', 'destination'], batchSize: 30_000 })) {
      rows.push(...columnBatchToRows(b));
      break;
    }
    rows[7]!.distance = null;
    rows[11]!.delay = null;
    const w = await createParquetWriter(join(dir, 'flights.parquet'));
    await w.writeRows(rows);
    await w.close();
    await log.createTopic('flights', 2);
    await log.produce('flights', rows.map((v, i) => ({ key: String(v.origin), value: JSON.stringify({ ...v, n: i }), timestamp: 0 })));

    const loaded = loadTopologyFile(TOPOLOGY, operatorCatalog, { env: { FLIGHTS: join(dir, 'flights.parquet'), OUT: join(dir, 'out') } });
    const batch = await (await Job.start(loaded, { log, logger: memoryLogger() })).done;
    assert.equal(batch.status, 'completed');
    assert.deepEqual([batch.recordsIn, batch.recordsOut, batch.deadLettered], [30_000, 29_998, 2]);

    const stream = {
      ...loaded.definition,
      sources: { flights: { type: 'topic' as const, topic: 'flights' } },
      sinks: { scored: { type: 'topic' as const, topic: 'scored' }, dlq: { type: 'topic' as const, topic: 'dlq' } },
    };
    const live = await (await Job.start({ ...loaded, definition: stream }, { log, untilIdle: true, logger: memoryLogger() })).done;
    assert.deepEqual([live.recordsIn, live.recordsOut, live.deadLettered], [30_000, 29_998, 2]);

    const fromBatch = new Map((await readParts(join(dir, 'out/scored'))).map((r) => [`${String(r.date)}|${String(r.origin)}|${String(r.destination)}|${String(r.distance)}`, r.delay_probability]));
    let compared = 0;
    for (let p = 0; p < log.requireTopic('scored').partitions; p++) {
      for (const rec of await log.read('scored', p, 0, 100_000)) {
        const r = JSON.parse(rec.value) as Record<string, unknown>;
        const key = `${String(r.date)}|${String(r.origin)}|${String(r.destination)}|${String(r.distance)}`;
        if (!fromBatch.has(key)) continue;
        assert.equal(r.delay_probability, fromBatch.get(key), key);
        compared++;
      }
    }
    assert.ok(compared > 29_000, `compared ${compared} records`);
    const deadBatch = (await readParts(join(dir, 'out/dead-letters'))).map((d) => (d.error as { code: string }).code).sort();
    assert.deepEqual(deadBatch, ['EXPRESSION_ERROR', 'MISSING_FEATURE']);
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('rocAuc matches hand-computed values, ties counting one half', () => {
  assert.equal(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
  assert.equal(rocAuc([0.5, 0.5], [0, 1]), 0.5);
  assert.throws(() => rocAuc([1, 2], [1, 1]), /both classes/);
});
