// Keyed state on Kafka: changelog topics carry it to a process with an empty data directory,
// a process restarted on its own directory restores only the tail, and partitions that move in
// a rebalance between two members take their state with them (exactlyOnce: one result per input).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { memoryLogger } from '../../../src/core/logger.js';
import { createMetrics } from '../../../src/metrics/registry.js';
import { Job } from '../../../src/runtime/job.js';
import type { TopologyDefinition } from '../../../src/topology/schema.js';
import { dropTopics, jsonValues, kafkaAvailable, produceTo, readTopic, testConnection, testKafka, uniqueName } from './helpers.js';

function countingTopology(name: string, input: string, output: string, guarantee: 'atLeastOnce' | 'exactlyOnce'): TopologyDefinition {
  return {
    name,
    sources: { in: { type: 'topic', topic: input } },
    pipeline: [{ aggregate: { id: 'running', aggregates: { n: { count: {} }, total: { sum: 'amount' } } } }, { sink: 'out' }],
    sinks: { out: { type: 'topic', topic: output, partitions: 2 } },
    onError: 'fail',
    runtime: { guarantee, batchSize: 50 },
  };
}

const records = (from: number, count: number, keys: number) => Array.from({ length: count }, (_, j) => ({ key: `u${(from + j) % keys}`, value: { i: from + j, amount: from + j } }));

/** Per key, the n values seen in order; each must be 1..count with no gap or repeat. */
function checkCounts(values: Record<string, unknown>[], inputs: number, keys: number): void {
  const byKey = new Map<number, number[]>();
  for (const v of values) {
    const k = (v.i as number) % keys;
    const list = byKey.get(k) ?? [];
    list.push(v.n as number);
    byKey.set(k, list);
  }
  for (const [k, ns] of byKey) assert.deepEqual([...ns].sort((a, b) => a - b), Array.from({ length: ns.length }, (_, i) => i + 1), `key u${k}: running counts 1..${ns.length}`);
  assert.equal(values.length, inputs);
}

describe('keyed state on Kafka', () => {
  test('changelog restore: into an empty data directory, then only the tail into an old one', { timeout: 180_000 }, async (t) => {
    if (!(await kafkaAvailable(t))) return;
    const kafka = testKafka();
    const [input, output] = [uniqueName('in'), uniqueName('out')];
    const def = countingTopology(uniqueName('restore'), input, output, 'exactlyOnce');
    const [dir1, dir2] = [await mkdtemp(join(tmpdir(), 'sluice-k1-')), await mkdtemp(join(tmpdir(), 'sluice-k2-'))];
    try {
      await produceTo(kafka, input, 2, records(0, 100, 10));
      const s1 = await (await Job.start(def, { connection: testConnection(), dataDir: dir1, untilIdle: true, logger: memoryLogger() })).done;
      assert.equal(s1.status, 'completed', s1.error);
      assert.equal(s1.recordsOut, 100);

      await produceTo(kafka, input, 2, records(100, 50, 10));
      const log2 = memoryLogger();
      const metrics = createMetrics();
      const s2 = await (await Job.start(def, { connection: testConnection(), dataDir: dir2, untilIdle: true, logger: log2, metrics })).done;
      assert.equal(s2.recordsIn, 50, 'the second process starts at the committed positions');
      assert.ok(log2.lines.some((l) => /restored state from changelogs .*-running-changelog\[\d\] 0\.\.\d+/.test(l)), 'the restore is logged, from the changelog start');
      const restored = (await metrics.registry.getSingleMetric('sluice_state_restore_records_total')!.get()).values.reduce((n, v) => n + v.value, 0);
      assert.ok(restored >= 10, `every key's state came from the changelog (restored ${restored})`);

      await produceTo(kafka, input, 2, records(150, 30, 10));
      const log3 = memoryLogger();
      const s3 = await (await Job.start(def, { connection: testConnection(), dataDir: dir1, untilIdle: true, logger: log3 })).done;
      assert.equal(s3.recordsIn, 30);
      const tails = log3.lines.filter((l) => /restored state from changelogs/.test(l)).join('\n');
      assert.match(tails, /-running-changelog\[\d\] [1-9]\d*\.\.\d+/, 'the old directory reads the changelog from where its cache stopped, not from 0');
      const admin = kafka.admin();
      await admin.connect();
      const left = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(`${def.name}-restore-`));
      await admin.disconnect();
      assert.deepEqual(left, [], 'each restore deletes its throw-away consumer group');

      const out = jsonValues(await readTopic(kafka, output));
      checkCounts(out, 180, 10);
      const last = new Map<number, { n: number; total: number }>();
      for (const v of out) {
        const k = (v.i as number) % 10;
        if ((last.get(k)?.n ?? 0) < (v.n as number)) last.set(k, { n: v.n as number, total: v.total as number });
      }
      for (let k = 0; k < 10; k++) {
        let total = 0;
        for (let i = k; i < 180; i += 10) total += i;
        assert.deepEqual(last.get(k), { n: 18, total }, `key u${k} counted and summed across three processes and two directories`);
      }
    } finally {
      await dropTopics(kafka, [input, output], [def.name]);
      await rm(dir1, { recursive: true, force: true });
      await rm(dir2, { recursive: true, force: true });
    }
  });

  test('rebalance with two members: partitions and their state move, one result per input (exactlyOnce)', { timeout: 180_000 }, async (t) => {
    if (!(await kafkaAvailable(t))) return;
    const kafka = testKafka();
    const [input, output] = [uniqueName('in'), uniqueName('out')];
    const def = countingTopology(uniqueName('rebalance'), input, output, 'exactlyOnce');
    const [dirA, dirB] = [await mkdtemp(join(tmpdir(), 'sluice-ka-')), await mkdtemp(join(tmpdir(), 'sluice-kb-'))];
    const waitFor = async (what: string, cond: () => Promise<boolean>) => {
      for (let i = 0; i < 600; i++) {
        if (await cond()) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.fail(`timed out waiting for ${what}`);
    };
    const outCount = async () => (await readTopic(kafka, output).catch(() => [])).length;
    try {
      await produceTo(kafka, input, 4, records(0, 400, 20));
      const metricsA = createMetrics();
      const a = await Job.start(def, { connection: testConnection(), dataDir: dirA, logger: memoryLogger(), metrics: metricsA });
      await waitFor('member A to score the first records', async () => (await outCount()) >= 400);
      const metricsB = createMetrics();
      const logB = memoryLogger();
      const b = await Job.start(def, { connection: testConnection(), dataDir: dirB, logger: logB, metrics: metricsB });
      const owned = async (m: ReturnType<typeof createMetrics>) => (await m.registry.getSingleMetric('sluice_source_partitions_assigned')!.get()).values.reduce((n, v) => n + v.value, 0);
      await waitFor('the group to split the partitions', async () => (await owned(metricsA)) === 2 && (await owned(metricsB)) === 2);
      await produceTo(kafka, input, 4, records(400, 400, 20));
      await waitFor('both members to finish', async () => (await outCount()) >= 800);
      const [sa, sb] = await Promise.all([a.stop(), b.stop()]);
      assert.ok(sb.recordsIn > 0, 'the second member processed records');
      assert.ok(logB.lines.some((l) => /restored state from changelogs/.test(l)), 'the second member restored the moved partitions\' state');
      assert.ok(sa.recordsOut + sb.recordsOut >= 800);
      checkCounts(jsonValues(await readTopic(kafka, output)), 800, 20);
    } finally {
      await dropTopics(kafka, [input, output], [def.name]);
      await rm(dirA, { recursive: true, force: true });
      await rm(dirB, { recursive: true, force: true });
    }
  });
});
