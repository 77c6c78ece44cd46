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
const FLIGHTS = 'node_modules/vega-datasets/data/flights-3m.parquet';
const COLUMNS = ['date', 'delay', 'distance', 'origin', 'destination'];
const check = JSON.parse(readFileSync('examples/flight-delay/model/check-rows.json', 'utf8')) as {
  p_delayed_tolerance: number;
  feature_order: string[];
  feed: { from_ms: number; to_ms: number; rows: number };
  rows: { date_ms: number; delay: number; distance: number; origin: string; destination: string; features: Record<string, number>; p_delayed: number }[];
};
const identity = (r: Record<string, unknown>) => `${String(r.date)}|${String(r.origin)}|${String(r.destination)}|${String(r.distance)}`;

/** The file's flights with from <= date < to, in file order (the file is sorted by date). */
async function flightsBetween(from: number, to: number): Promise<Record<string, unknown>[]> {
  // A pass over the date column alone finds the first row, so the rest is read from there.
  let skipRows = 0;
  for await (const b of readParquetColumns(FLIGHTS, { columns: ['date'], batchSize: 65536 })) {
    const date = b.columns.date as Float64Array;
    let i = 0;
    while (i < b.rows && date[i]! < from) i++;
    skipRows = b.firstRow + i;
    if (i < b.rows) break;
  }
  const rows: Record<string, unknown>[] = [];
  for await (const b of readParquetColumns(FLIGHTS, { columns: COLUMNS, batchSize: 65536, skipRows })) {
    for (const r of columnBatchToRows(b)) {
      if ((r.date as number) >= to) return rows;
      if ((r.date as number) >= from) rows.push(r);
    }
  }
  return rows;
}

test('the topology computes the training script\'s features, the window one included, and the model gives its probabilities', { timeout: 60_000 }, async () => {
  const loaded = loadTopologyFile(TOPOLOGY, operatorCatalog);
  // The check rows' day and the 3 hours before it: all that their origin_delay_3h reads.
  const input = await flightsBetween(check.feed.from_ms, check.feed.to_ms);
  assert.equal(input.length, check.feed.rows);
  // The keep step drops the features; check them on a copy of the pipeline without it.
  const def = { ...loaded.definition, pipeline: loaded.definition.pipeline.filter((s) => !('map' in s && (s.map as { keep?: unknown }).keep)) };
  const r = await runTopology({ ...loaded, definition: def }, { flights: input });
  const scored = r.outputs.scored!;
  assert.equal(scored.length, input.length);
  assert.deepEqual(r.deadLetters, []);
  const byIdentity = new Map(scored.map((row) => [identity(row), row]));
  assert.equal(check.feature_order.at(-1), 'origin_delay_3h');
  let noHistory = 0;
  check.rows.forEach((want, i) => {
    const got = byIdentity.get(identity({ date: want.date_ms, origin: want.origin, destination: want.destination, distance: want.distance }));
    assert.ok(got, `check row ${i} is in the output`);
    for (const f of check.feature_order) assert.equal(got[f], want.features[f], `row ${i} feature ${f}`);
    if (want.features.origin_delay_3h === -999) noHistory++;
    assert.ok(Math.abs((got.delay_probability as number) - want.p_delayed) <= check.p_delayed_tolerance, `row ${i}: ${String(got.delay_probability)} vs ${want.p_delayed}`);
  });
  assert.ok(noHistory > 0 && noHistory < check.rows.length, 'the check rows cover both an origin with recent flights and one without');
});

test('backfill over Parquet and streaming over a topic give identical scores for the same records', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-parity-'));
  const log = await EmbeddedLog.open(join(dir, 'data'));
  try {
    // 30,000 real flights (the first 33 hours), with some nulls to be dead-lettered the same way.
    const rows: Record<string, unknown>[] = [];
    for await (const b of readParquetColumns(FLIGHTS, { columns: COLUMNS, batchSize: 30_000 })) {
      rows.push(...columnBatchToRows(b));
      break;
    }
    rows[7]!.distance = null;
    rows[11]!.delay = null;
    const w = await createParquetWriter(join(dir, 'flights.parquet'));
    await w.writeRows(rows);
    await w.close();
    // One partition, in file order: the window's event time must arrive in order as in the file.
    await log.createTopic('flights', 1);
    await log.produce('flights', rows.map((v, i) => ({ key: String(v.origin), value: JSON.stringify({ ...v, n: i }), timestamp: 0 })));

    const loaded = loadTopologyFile(TOPOLOGY, operatorCatalog, { env: { FLIGHTS: join(dir, 'flights.parquet'), OUT: join(dir, 'out') } });
    const batch = await (await Job.start(loaded, { log, logger: memoryLogger() })).done;
    assert.equal(batch.status, 'completed');
    assert.deepEqual([batch.recordsIn, batch.recordsOut, batch.deadLettered], [30_000, 29_998, 2]);

    // Its own job name, so its own state: under the backfill's name the window would resume
    // from the backfill's watermark (as `run --from-backfill-end` does) and find every
    // replayed record late.
    const stream = {
      ...loaded.definition,
      name: 'flight-delay-live',
      sources: { flights: { type: 'topic' as const, topic: 'flights' } },
      sinks: { scored: { type: 'topic' as const, topic: 'scored' }, dlq: { type: 'topic' as const, topic: 'dlq' } },
    };
    // Over two partitions the keyBy goes through a repartition topic; with the producer key
    // the origin, each origin's flights still arrive in file order, so the scores are the same.
    await log.createTopic('flights-2p', 2);
    await log.produce('flights-2p', rows.map((v, i) => ({ key: String(v.origin), value: JSON.stringify({ ...v, n: i }), timestamp: 0 })));
    const twoPartitions = { ...stream, name: 'flight-delay-2p', sources: { flights: { type: 'topic' as const, topic: 'flights-2p' } }, sinks: { scored: { type: 'topic' as const, topic: 'scored-2p' }, dlq: { type: 'topic' as const, topic: 'dlq-2p' } } };
    const two = await (await Job.start({ ...loaded, definition: twoPartitions }, { log, untilIdle: true, logger: memoryLogger() })).done;
    assert.deepEqual([two.recordsIn, two.recordsOut, two.deadLettered], [30_000, 29_998, 2]);
    assert.deepEqual(Object.keys(two.repartitioned ?? {}), ['flight-delay-2p-keyBy-1-repartition']);
    const live = await (await Job.start({ ...loaded, definition: stream }, { log, untilIdle: true, logger: memoryLogger() })).done;
    assert.deepEqual([live.recordsIn, live.recordsOut, live.deadLettered], [30_000, 29_998, 2]);

    const batchRows = await readParts(join(dir, 'out/scored'));
    // Flights can share date, route and distance (about 1,000 here do), so match them as a
    // multiset: each streamed record takes one batch row of its identity, and every row of
    // each side must be taken exactly once; for the 1-partition run and the repartitioned one.
    for (const topic of ['scored', 'scored-2p']) {
      const fromBatch = new Map<string, Record<string, unknown>[]>();
      for (const r of batchRows) {
        const k = `${identity(r)}|${String(r.delay)}`;
        fromBatch.set(k, [...(fromBatch.get(k) ?? []), r]);
      }
      let compared = 0;
      for (let p = 0; p < log.requireTopic(topic).partitions; p++) {
        for (const rec of await log.read(topic, p, 0, 100_000)) {
          const r = JSON.parse(String(rec.value)) as Record<string, unknown>;
          const k = `${identity(r)}|${String(r.delay)}`;
          const b = fromBatch.get(k)?.pop();
          assert.ok(b, `${topic}: streamed record ${k} has no batch row left to match`);
          assert.equal(r.origin_delay_3h, b.origin_delay_3h, `${topic}: ${k}`);
          assert.equal(r.delay_probability, b.delay_probability, `${topic}: ${k}`);
          compared++;
        }
      }
      assert.equal(compared, 29_998, `${topic}: every scored record compared`);
      assert.deepEqual([...fromBatch.values()].filter((l) => l.length > 0), [], `${topic}: every batch row matched`);
    }
    const withHistory = batchRows.filter((r) => r.origin_delay_3h !== -999).length;
    assert.ok(withHistory > 20_000, `the window feeds most records: ${withHistory}`);
    const deadBatch = (await readParts(join(dir, 'out/dead-letters'))).map((d) => (d.error as { code: string }).code).sort();
    // The null delay fails at the window (its avg needs a number), the null distance at the model.
    assert.deepEqual(deadBatch, ['INVALID_INPUT', 'MISSING_FEATURE']);
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
