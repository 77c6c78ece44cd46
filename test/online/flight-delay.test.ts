/**
 * Real-time features from stream state, and parity: the same flights scored by a
 * backfill (Parquet), a stream over a topic, the topology endpoint (reading the state the
 * backfill built) and /v2 infer give identical model inputs and outputs, bit for bit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EmbeddedLog } from '../../connectors/embedded/index.js';
import { columnBatchToRows, createParquetWriter, readParquetColumns } from '../../connectors/parquet/index.js';
import { memoryLogger } from '../../src/core/logger.js';
import { createMetrics } from '../../src/metrics/registry.js';
import { operatorCatalog } from '../../src/operators/index.js';
import { createOnlineService, loadAllModels } from '../../src/online/service.js';
import { Job } from '../../src/runtime/job.js';
import { loadTopologyFile } from '../../src/topology/load.js';
import { cli, readParts } from '../batch/helpers.js';

const TOPOLOGY = 'examples/flight-delay/topology.yaml';
const FLIGHTS = 'node_modules/vega-datasets/data/flights-3m.parquet';
const COLUMNS = ['date', 'delay', 'distance', 'origin', 'destination'];
const FEATURES = ['dep_hour', 'dep_minute_of_day', 'day_of_week', 'month', 'day_of_month', 'distance', 'origin_bucket', 'dest_bucket', 'origin_delay_3h'];
const identity = (r: Record<string, unknown>) => `${String(r.date)}|${String(r.origin)}|${String(r.destination)}|${String(r.distance)}`;

/** The first `n` flights of the file (in date order), written to `dir/flights.parquet`. */
async function smallInput(dir: string, n: number): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  for await (const b of readParquetColumns(FLIGHTS, { columns: COLUMNS, batchSize: n })) {
    rows.push(...columnBatchToRows(b));
    break;
  }
  const w = await createParquetWriter(join(dir, 'flights.parquet'));
  await w.writeRows(rows);
  await w.close();
  return rows;
}

/** Flights of the input's last two hours: their 3-hour windows are still in the state after the backfill. */
function recentRequests(rows: Record<string, unknown>[], count: number): Record<string, unknown>[] {
  const last = rows.at(-1)!.date as number;
  const recent = rows.filter((r) => (r.date as number) >= last - 2 * 3_600_000 && r.distance !== null);
  const step = Math.max(1, Math.floor(recent.length / count));
  return recent.filter((_, i) => i % step === 0).slice(0, count).map((r) => ({ date: r.date, origin: r.origin, destination: r.destination, distance: r.distance }));
}

test('backfill, stream, topology endpoint and /v2 infer give identical model inputs and outputs', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-online-parity-'));
  const log = await EmbeddedLog.open(join(dir, 'data'));
  try {
    const rows = await smallInput(dir, 6000);
    const loaded = loadTopologyFile(TOPOLOGY, operatorCatalog, { env: { FLIGHTS: join(dir, 'flights.parquet'), OUT: join(dir, 'out') } });
    // Without the last step's `keep`, every path's answer carries the model's nine inputs.
    const def = { ...loaded.definition, pipeline: loaded.definition.pipeline.filter((s) => !('map' in s && (s.map as { keep?: unknown }).keep)) };
    const full = { ...loaded, definition: def };
    const batch = await (await Job.start(full, { log, logger: memoryLogger() })).done;
    assert.equal(batch.status, 'completed');
    const fromBatch = new Map((await readParts(join(dir, 'out/scored'))).map((r) => [identity(r), r]));

    await log.createTopic('flights', 1);
    await log.produce('flights', rows.map((v) => ({ key: String(v.origin), value: JSON.stringify(v), timestamp: 0 })));
    const stream = { ...def, name: 'flight-delay-live', sources: { flights: { type: 'topic' as const, topic: 'flights' } }, sinks: { scored: { type: 'topic' as const, topic: 'scored' }, dlq: { type: 'topic' as const, topic: 'dlq' } } };
    const live = await (await Job.start({ ...loaded, definition: stream }, { log, untilIdle: true, logger: memoryLogger() })).done;
    assert.equal(live.recordsOut, batch.recordsOut);
    const fromStream = new Map((await log.read('scored', 0, 0, 100_000)).map((r) => JSON.parse(String(r.value)) as Record<string, unknown>).map((r) => [identity(r), r]));

    // The server reads the state the backfill built (same topology name, same data directory).
    const metrics = createMetrics();
    const runners = await loadAllModels(full, { metrics, logger: memoryLogger() });
    const service = await createOnlineService(full, { log, metrics, logger: memoryLogger(), runners });
    try {
      const requests = recentRequests(rows, 200);
      assert.ok(requests.length >= 100, `${requests.length} recent flights`);
      const res = await service.app.inject({ method: 'POST', url: '/v1/topologies/flight-delay/score', payload: requests });
      assert.equal(res.statusCode, 200, res.body);
      const answers = res.json().results as { route: string; value: Record<string, unknown> }[];
      const matrix: number[] = [];
      let withHistory = 0;
      answers.forEach((a, i) => {
        const id = identity(requests[i]!);
        const b = fromBatch.get(id)!;
        const s = fromStream.get(id)!;
        assert.equal(a.route, 'scored', JSON.stringify(a));
        for (const f of [...FEATURES, 'delay_probability']) {
          assert.equal(a.value[f], b[f], `${id} ${f}: online vs backfill`);
          assert.equal(s[f], b[f], `${id} ${f}: stream vs backfill`);
        }
        if (b.origin_delay_3h !== -999) withHistory++;
        matrix.push(...FEATURES.map((f) => a.value[f] as number));
      });
      assert.ok(withHistory > answers.length / 2, `most answers read a window from state: ${withHistory}/${answers.length}`);
      const v2 = await service.app.inject({ method: 'POST', url: '/v2/models/delay/infer', payload: { inputs: [{ name: 'features', shape: [answers.length, 9], datatype: 'FP32', data: matrix }], outputs: [{ name: 'probabilities' }] } });
      assert.equal(v2.statusCode, 200, v2.body);
      const probs = v2.json().outputs[0].data as number[];
      answers.forEach((a, i) => assert.equal(probs[i * 2 + 1], a.value.delay_probability, `v2 row ${i}`));

      // One flight per request, concurrently, beside bulk work on the same model: these small batches
      // run on the main thread's own session (the big requests above ran on worker threads), and
      // give the same bits.
      const runner = runners.get('delay')!;
      const before = runner.stats().inlineBatches;
      const bulkRows = 8192;
      const bulk = runner.infer(Float32Array.from({ length: bulkRows * 9 }, (_, i) => matrix[i % matrix.length]!), bulkRows, { wait: true });
      const single = await Promise.all(requests.slice(0, 40).map((r) => service.app.inject({ method: 'POST', url: '/v1/topologies/flight-delay/score', payload: r })));
      const singleV2 = await Promise.all(answers.slice(0, 40).map((a) => service.app.inject({ method: 'POST', url: '/v2/models/delay/infer', payload: { inputs: [{ name: 'features', shape: [1, 9], datatype: 'FP32', data: FEATURES.map((f) => a.value[f] as number) }], outputs: [{ name: 'probabilities' }] } })));
      single.forEach((res, i) => assert.equal(res.json().value.delay_probability, fromBatch.get(identity(requests[i]!))!.delay_probability, `single request ${i}`));
      singleV2.forEach((res, i) => assert.equal(res.json().outputs[0].data[1], answers[i]!.value.delay_probability, `single /v2 request ${i}`));
      assert.ok(runner.stats().inlineMaxRows > 0 && runner.stats().inlineBatches > before, `inline batches: ${JSON.stringify(runner.stats())}`);
      assert.equal((await bulk).probabilities!.dims[0], bulkRows);
    } finally {
      await service.close();
      await Promise.all([...runners.values()].map((r) => r.close()));
    }
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('sluice serve examples/flight-delay/topology.yaml after the backfill answers a flight as the backfill scored it; SIGTERM exits 0', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-online-example-'));
  try {
    const rows = await smallInput(dir, 4000);
    const env = { FLIGHTS: join(dir, 'flights.parquet'), OUT: join(dir, 'out'), SLUICE_DATA_DIR: join(dir, 'data') };
    const backfill = await cli(['backfill', TOPOLOGY, '--no-progress'], { env });
    assert.equal(backfill.code, 0, backfill.stderr);
    const scored = new Map((await readParts(join(dir, 'out/scored'))).map((r) => [identity(r), r]));
    const child = spawn(process.execPath, [resolve('bin/sluice.js'), 'serve', TOPOLOGY, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stderr = '';
    const url = await new Promise<string>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`no URL within 30 s: ${stderr}`)), 30_000);
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /online: (http:\/\/\S+)/.exec(stderr);
        if (m) {
          clearTimeout(timer);
          ok(m[1]!);
        }
      });
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      assert.equal((await fetch(`${url}/v2/health/ready`)).status, 200);
      const [flight] = recentRequests(rows, 1);
      const res = await fetch(`${url}/v1/topologies/flight-delay/score`, { method: 'POST', body: JSON.stringify(flight), headers: { 'content-type': 'application/json' } });
      assert.equal(res.status, 200);
      const answer = (await res.json()) as { route: string; value: Record<string, unknown> };
      const want = scored.get(identity(flight!))!;
      assert.equal(answer.route, 'scored');
      assert.equal(answer.value.origin_delay_3h, want.origin_delay_3h);
      assert.notEqual(want.origin_delay_3h, -999);
      assert.equal(answer.value.delay_probability, want.delay_probability);
      assert.equal(answer.value.delayed, null);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, stderr);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
