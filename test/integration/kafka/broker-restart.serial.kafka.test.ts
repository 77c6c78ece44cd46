// The broker stops mid-stream and starts again on the same data (scripts/kafka/stop.sh with
// KAFKA_KEEP_DATA=1, then start.sh): an exactlyOnce job retries with backoff, says so in its log
// and metrics, and resumes with nothing lost or duplicated.
//
// It restarts the broker the other Kafka tests use, so it is a `.serial.` test file:
// scripts/run-tests.mjs runs those alone, after every other test file has finished.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { memoryLogger } from '../../../src/core/logger.js';
import { createMetrics } from '../../../src/metrics/registry.js';
import { Job } from '../../../src/runtime/job.js';
import type { TopologyDefinition } from '../../../src/topology/schema.js';
import { KAFKA_BROKERS, dropTopics, jsonValues, kafkaAvailable, produceTo, readTopic, testConnection, testKafka, uniqueName } from './helpers.js';
import { waitFor } from './processes.js';

function brokerScript(name: 'stop.sh' | 'start.sh'): void {
  const port = KAFKA_BROKERS[0]!.split(':')[1]!;
  const r = spawnSync('bash', [resolve(`scripts/kafka/${name}`)], { env: { ...process.env, KAFKA_PORT: port, KAFKA_KEEP_DATA: '1' }, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `${name} failed: ${r.stderr}`);
}

test('broker restart mid-stream under exactlyOnce: retries, then nothing lost or duplicated', { timeout: 300_000 }, async (t) => {
  if (!(await kafkaAvailable(t))) return;
  const kafka = testKafka();
  const [input, output] = [uniqueName('restart-in'), uniqueName('restart-out')];
  const N = 6000;
  await produceTo(kafka, input, 3, Array.from({ length: N }, (_, i) => ({ key: `u${i % 30}`, value: { i, amount: i } })));
  const def: TopologyDefinition = {
    name: uniqueName('restart'),
    sources: { in: { type: 'topic', topic: input } },
    pipeline: [{ aggregate: { id: 'running', aggregates: { n: { count: {} } } } }, { sink: 'out' }],
    sinks: { out: { type: 'topic', topic: output, partitions: 2 } },
    onError: 'fail',
    runtime: { guarantee: 'exactlyOnce', batchSize: 20, maxInFlight: 1 },
  };
  const dir = await mkdtemp(join(tmpdir(), 'sluice-restart-'));
  const logger = memoryLogger();
  const metrics = createMetrics();
  let restarted = false;
  try {
    const job = await Job.start(def, { connection: testConnection({ retry: { retries: 2, initialRetryTimeMs: 300, maxRetryTimeMs: 2000 } }), dataDir: dir, logger, metrics });
    await waitFor('a first part of the results to be committed', async () => (await readTopic(kafka, output).catch(() => [])).length >= 300, 120_000);
    brokerScript('stop.sh');
    await new Promise((r) => setTimeout(r, 4000));
    brokerScript('start.sh');
    restarted = true;
    await waitFor('every input to be processed after the restart', async () => (await readTopic(kafka, output).catch(() => [])).length >= N, 240_000, () => logger.lines.slice(-30).join('\n'));
    const summary = await job.stop();
    assert.notEqual(summary.status, 'failed', summary.error);
    const retries = (await metrics.registry.getSingleMetric('sluice_kafka_retries_total')!.get()).values.reduce((n, v) => n + v.value, 0);
    assert.ok(retries > 0, 'the retries are counted in sluice_kafka_retries_total');
    assert.ok(logger.lines.some((l) => /retrying|rejoins the group with backoff/.test(l)), 'the retries are logged');
    const out = jsonValues(await readTopic(kafka, output));
    assert.equal(out.length, N, `nothing lost, nothing duplicated (read_committed); the job's log:\n${logger.lines.slice(-60).join('\n')}`);
    assert.equal(new Set(out.map((v) => v.i)).size, N);
    const byKey = new Map<number, number[]>();
    for (const v of out) byKey.set((v.i as number) % 30, [...(byKey.get((v.i as number) % 30) ?? []), v.n as number]);
    for (const ns of byKey.values()) assert.deepEqual(ns.sort((a, b) => a - b), Array.from({ length: ns.length }, (_, i) => i + 1), 'running counts have no gap or repeat');
  } finally {
    if (!restarted) brokerScript('start.sh');
    if (!process.env.SLUICE_KEEP_TEST_TOPICS) await dropTopics(kafka, [input, output], [def.name]);
    await rm(dir, { recursive: true, force: true });
  }
});
