// sluice on a real Kafka broker: produce → score → consume under both guarantees, dead letters
// with Kafka Connect style headers, oversized records, start positions, bounded replays, and
// the errors a user sees for a missing topic or an unreachable broker.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { memoryLogger } from '../../../src/core/logger.js';
import { createMetrics } from '../../../src/metrics/registry.js';
import { Job } from '../../../src/runtime/job.js';
import { topology } from '../../../src/topology/builder.js';
import type { TopologyDefinition } from '../../../src/topology/schema.js';
import { cli } from '../../batch/helpers.js';
import { KAFKA_BROKERS, dropTopics, jsonValues, kafkaAvailable, produceTo, readTopic, testConnection, testKafka, uniqueName } from './helpers.js';

const MODEL = resolve('models/small-mlp.onnx');

function features(i: number): Record<string, number> {
  const f: Record<string, number> = { i };
  for (let j = 0; j < 8; j++) f[`f${j}`] = ((i * 7 + j * 3) % 11) / 10;
  return f;
}

function scoringTopology(name: string, input: string, output: string, dlq: string, guarantee: 'atLeastOnce' | 'exactlyOnce'): TopologyDefinition {
  return {
    name,
    models: { m: { path: MODEL, workers: 1 } },
    sources: { in: { type: 'topic', topic: input } },
    pipeline: [{ score: { model: 'm', features: ['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7'], outputs: { score: 'score' } } }, { sink: 'out' }],
    sinks: { out: { type: 'topic', topic: output, partitions: 2 }, dlq: { type: 'topic', topic: dlq } },
    deadLetter: 'dlq',
    runtime: { guarantee, batchSize: 64 },
  };
}

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'sluice-kafka-'));
}

describe('sluice on Kafka', () => {
  for (const guarantee of ['atLeastOnce', 'exactlyOnce'] as const) {
    test(`produce → score → consume (${guarantee}); bad values and oversized results are dead-lettered with headers`, { timeout: 120_000 }, async (t) => {
      if (!(await kafkaAvailable(t))) return;
      const kafka = testKafka();
      const [input, output, dlq] = [uniqueName('in'), uniqueName('out'), uniqueName('dlq')];
      const N = 300;
      const recs: { key: string; value: unknown }[] = [];
      for (let i = 0; i < N; i++) recs.push({ key: `k${i % 17}`, value: features(i) });
      recs.push({ key: 'bad-1', value: '{"f0": ' });
      recs.push({ key: 'bad-2', value: '[1, 2]' });
      // Fits the broker as input (1 MiB), but with the score added it passes the sink's 1,000,000-byte limit.
      recs.push({ key: 'big', value: { ...features(999), pad: 'x'.repeat(1_000_000) } });
      await produceTo(kafka, input, 3, recs);
      const dir = await tempDir();
      try {
        const metrics = createMetrics();
        const job = await Job.start(scoringTopology(uniqueName('score'), input, output, dlq, guarantee), { connection: testConnection(), dataDir: dir, untilIdle: true, logger: memoryLogger(), metrics });
        const summary = await job.done;
        assert.equal(summary.status, 'completed', summary.error);
        assert.deepEqual({ in: summary.recordsIn, out: summary.recordsOut, dead: summary.deadLettered }, { in: N + 3, out: N, dead: 3 }, 'in = out + dead-lettered');

        const out = jsonValues(await readTopic(kafka, output));
        assert.equal(out.length, N);
        assert.deepEqual(out.map((v) => v.i as number).sort((a, b) => a - b), Array.from({ length: N }, (_, i) => i), 'each input scored exactly once');
        assert.ok(out.every((v) => typeof v.score === 'number' && v.score > 0 && v.score < 1), 'scores are sigmoid outputs');

        const dead = await readTopic(kafka, dlq);
        assert.equal(dead.length, 3);
        const byKey = new Map(dead.map((d) => [d.key, d]));
        const bad1 = byKey.get('bad-1')!;
        assert.equal(bad1.value?.toString(), '{"f0": ', 'the original bytes are the value');
        assert.equal(bad1.headers['sluice.error.code'], 'DECODE_ERROR');
        assert.match(bad1.headers['sluice.error.message']!, /not valid JSON/);
        assert.equal(bad1.headers['sluice.error.operator'], 'source:in');
        assert.equal(bad1.headers['sluice.source.topic'], input);
        assert.ok(Number(bad1.headers['sluice.source.offset']) >= 0);
        assert.match(byKey.get('bad-2')!.headers['sluice.error.message']!, /expected a JSON object, got a list/);
        const big = byKey.get('big')!;
        assert.equal(big.headers['sluice.error.code'], 'RECORD_TOO_LARGE');
        assert.match(big.headers['sluice.error.message']!, /more than sink "out" may produce/);
        const lag = (await metrics.registry.getSingleMetric('sluice_source_lag_records')!.get()).values;
        assert.ok(lag.length >= 1 && lag.every((v) => v.value === 0), 'lag per partition is reported, and 0 once all is read');
      } finally {
        await dropTopics(kafka, [input, output, dlq]);
        await rm(dir, { recursive: true, force: true });
      }
    });
  }

  test('start positions: latest skips what is there; a restart resumes at the committed position', { timeout: 120_000 }, async (t) => {
    if (!(await kafkaAvailable(t))) return;
    const kafka = testKafka();
    const [input, output] = [uniqueName('in'), uniqueName('out')];
    await produceTo(kafka, input, 2, Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: { i, phase: 'old' } })));
    const def = topology(uniqueName('latest')).source('in', { type: 'topic', topic: input, startFrom: 'latest' }).map({ set: { seen: 'true' } }).to('out').sink('out', { type: 'topic', topic: output }).onError('fail').build();
    const dir = await tempDir();
    try {
      const metrics = createMetrics();
      const job = await Job.start(def, { connection: testConnection(), dataDir: dir, logger: memoryLogger(), metrics });
      // Wait until the group owns both partitions, then write the records it must see.
      for (let i = 0; i < 200 && (await metrics.registry.getSingleMetric('sluice_source_partitions_assigned')!.get()).values[0]?.value !== 2; i++) await new Promise((r) => setTimeout(r, 100));
      await produceTo(kafka, input, 2, Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: { i, phase: 'new' } })));
      for (let i = 0; i < 200 && (await readTopic(kafka, output)).length < 5; i++) await new Promise((r) => setTimeout(r, 100));
      const s1 = await job.stop();
      assert.equal(s1.status, 'stopped');
      assert.deepEqual(jsonValues(await readTopic(kafka, output)).map((v) => v.phase), ['new', 'new', 'new', 'new', 'new']);

      await produceTo(kafka, input, 2, Array.from({ length: 3 }, (_, i) => ({ key: `k${i}`, value: { i, phase: 'later' } })));
      const again = await Job.start(def, { connection: testConnection(), dataDir: dir, untilIdle: true, logger: memoryLogger() });
      const s2 = await again.done;
      assert.equal(s2.recordsIn, 3, 'the restart reads only what came after its committed position');
      assert.deepEqual(jsonValues(await readTopic(kafka, output)).map((v) => v.phase).sort(), ['later', 'later', 'later', 'new', 'new', 'new', 'new', 'new']);
    } finally {
      await dropTopics(kafka, [input, output]);
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('bounded replays: offset and timestamp ranges, then --from-backfill-end hands over', { timeout: 120_000 }, async (t) => {
    if (!(await kafkaAvailable(t))) return;
    const kafka = testKafka();
    const input = uniqueName('in');
    // Recent event times: the test broker keeps records for an hour by their timestamps.
    const t0 = Date.now() - 60_000;
    const outputs: string[] = [];
    t.after(() => dropTopics(kafka, [input, ...outputs]));
    await produceTo(kafka, input, 1, Array.from({ length: 10 }, (_, i) => ({ key: null, value: { i }, timestamp: t0 + i * 1000 })));
    const run = async (bounded: NonNullable<Extract<TopologyDefinition['sources'][string], { type: 'topic' }>['bounded']>, extra: { fromBackfillEnd?: boolean; name?: string } = {}) => {
      const output = uniqueName('out');
      outputs.push(output);
      const name = extra.name ?? uniqueName('replay');
      const def = topology(name).source('in', { type: 'topic', topic: input, bounded }).to('out').sink('out', { type: 'topic', topic: output }).onError('fail').build();
      const dir = await tempDir();
      try {
        const s = await (await Job.start(def, { connection: testConnection(), dataDir: dir, logger: memoryLogger(), ...(extra.fromBackfillEnd ? { fromBackfillEnd: true, untilIdle: true } : {}) })).done;
        assert.equal(s.status, 'completed', s.error);
        return { name, values: jsonValues(await readTopic(kafka, output)).map((v) => v.i as number) };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    };
    assert.deepEqual((await run({ from: { offset: 2 }, to: { offset: 7 } })).values, [2, 3, 4, 5, 6]);
    assert.deepEqual((await run({ from: { timestamp: t0 + 3000 }, to: { timestamp: new Date(t0 + 6000).toISOString() } })).values, [3, 4, 5]);
    const backfill = await run({ from: 'earliest', to: { offset: 4 } });
    assert.deepEqual(backfill.values, [0, 1, 2, 3]);
    // The same group hands over to live reading where the backfill stopped.
    assert.deepEqual((await run({ to: 'latest' }, { fromBackfillEnd: true, name: backfill.name })).values, [4, 5, 6, 7, 8, 9]);
  });

  test('a missing topic is named when creation is off; an unreachable broker fails after the configured retries', { timeout: 60_000 }, async (t) => {
    if (!(await kafkaAvailable(t))) return;
    const missing = uniqueName('missing');
    const def = topology(uniqueName('errors')).source('in', { type: 'topic', topic: missing }).to('out').sink('out', { type: 'topic', topic: uniqueName('out') }).onError('fail').build();
    const dir = await tempDir();
    try {
      const conn = testConnection();
      if (conn.kind === 'kafka') conn.kafka.topics.create = false;
      await assert.rejects(Job.start(def, { connection: conn, dataDir: dir, logger: memoryLogger() }), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'NOT_FOUND');
        assert.match(err.message, new RegExp(`source "in" topic "${missing}" does not exist.*topics.create: true`));
        return true;
      });
      const started = Date.now();
      await assert.rejects(Job.start(def, { connection: testConnection({ brokers: ['127.0.0.1:1'], retry: { retries: 2, initialRetryTimeMs: 100, maxRetryTimeMs: 200 }, connectionTimeoutMs: 500 }), dataDir: dir, logger: memoryLogger() }), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'KAFKA_UNAVAILABLE');
        assert.match(err.message, /cannot reach Kafka at 127\.0\.0\.1:1 after 2 retries/);
        return true;
      });
      assert.ok(Date.now() - started < 20_000, 'the error comes after the configured retries, not a hang');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the CLI on Kafka', () => {
  test('validate and backfill take --connection FILE; the same topology file runs on the embedded log without it', { timeout: 120_000 }, async (t) => {
    if (!(await kafkaAvailable(t))) return;
    const kafka = testKafka();
    const [input, output] = [uniqueName('cli-in'), uniqueName('cli-out')];
    await produceTo(kafka, input, 2, Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: { i } })));
    const dir = await tempDir();
    try {
      const topo = join(dir, 'cli.yaml');
      await writeFile(topo, `name: ${uniqueName('cli')}\nsources: { in: { type: topic, topic: ${input}, bounded: { from: earliest, to: latest } } }\npipeline:\n  - map: { set: { twice: "i * 2" } }\n  - sink: out\nsinks: { out: { type: topic, topic: ${output} } }\nonError: fail\n`);
      const conn = join(dir, 'kafka.yaml');
      await writeFile(conn, `kafka:\n  brokers: [${KAFKA_BROKERS.join(', ')}]\n  retry: { retries: 3, initialRetryTimeMs: 100, maxRetryTimeMs: 1000 }\n`);
      const validated = await cli(['validate', topo, '--connection', conn]);
      assert.equal(validated.code, 0, validated.stderr);
      assert.match(validated.stdout, new RegExp(`topics on Kafka at ${KAFKA_BROKERS[0]!.replace(/\./g, '\\.')}.*from --connection`));
      assert.match((await cli(['validate', topo])).stdout, /topics on the embedded log/);

      const summaryPath = join(dir, 'summary.json');
      const backfill = await cli(['backfill', topo, '--connection', conn, '--data-dir', join(dir, 'data'), '--no-progress', '--summary-json', summaryPath]);
      assert.equal(backfill.code, 0, backfill.stderr);
      const summary = JSON.parse(await readFile(summaryPath, 'utf8')) as { recordsIn: number; recordsOut: number; status: string };
      assert.deepEqual({ status: summary.status, in: summary.recordsIn, out: summary.recordsOut }, { status: 'completed', in: 20, out: 20 });
      const out = jsonValues(await readTopic(kafka, output));
      assert.deepEqual(out.map((v) => v.twice as number).sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i * 2));
    } finally {
      await dropTopics(kafka, [input, output]);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
