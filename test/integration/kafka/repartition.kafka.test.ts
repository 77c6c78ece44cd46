// Repartitioning on a real Kafka broker: a keyBy before keyed state over a 3-partition input
// keyed by something else goes through the Kafka topic `<topology>-<keyBy id>-repartition`;
// each key is counted by one task, and the results equal a run over one partition.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { memoryLogger } from '../../../src/core/logger.js';
import { Job, type JobSummary } from '../../../src/runtime/job.js';
import type { TopologyDefinition } from '../../../src/topology/schema.js';
import { jsonValues, kafkaAvailable, produceTo, readTopic, testConnection, testKafka, uniqueName } from './helpers.js';

const N = 1200;
const USERS = 30;
const T0 = Date.UTC(2026, 0, 1);

function counting(name: string, input: string, output: string, dlq: string, guarantee: 'atLeastOnce' | 'exactlyOnce'): TopologyDefinition {
  return {
    name,
    sources: { in: { type: 'topic', topic: input } },
    pipeline: [
      { keyBy: { id: 'by-user', key: 'user' } },
      { aggregate: { id: 'running', aggregates: { n: { count: {} }, total: { sum: 'amount' } } } },
      { window: { id: 'per-minute', window: { tumbling: '1m' }, aggregates: { c: { count: {} }, spend: { sum: 'amount' } }, keyFields: ['user'], emit: 'update' } },
      { sink: 'out' },
    ],
    sinks: { out: { type: 'topic', topic: output }, dlq: { type: 'topic', topic: dlq } },
    deadLetter: 'dlq',
    runtime: { guarantee, batchSize: 50 },
  };
}

/** Runs the job live until its output holds `want` window updates (read_committed), then stops it. */
async function runUntil(def: TopologyDefinition, output: string, want: number): Promise<JobSummary> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-kafka-rp-'));
  const kafka = testKafka();
  try {
    const job = await Job.start(def, { connection: testConnection(), dataDir: dir, logger: memoryLogger() });
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      const n = await readTopic(kafka, output).then((r) => r.filter((x) => x.headers['sluice-window'] === 'update').length, () => 0);
      if (n >= want) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    return await job.stop();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('repartition on Kafka', () => {
  test('repartition on a 3-partition input keyed differently from the keyBy (exactlyOnce): each key counted once, same results as a 1-partition input', { timeout: 240_000 }, async (t) => {
    if (!(await kafkaAvailable(t))) return;
    const kafka = testKafka();
    const recs = Array.from({ length: N }, (_, n) => ({ key: `id${n}`, value: { user: `u${(n * 7) % USERS}`, amount: (n % 11) + 1, seq: n }, timestamp: T0 + n * 1000 }));
    const results: Record<string, unknown>[][] = [];
    for (const partitions of [3, 1]) {
      const [input, output, dlq, name] = [uniqueName('rp-in'), uniqueName('rp-out'), uniqueName('rp-dlq'), uniqueName('rp')];
      await produceTo(kafka, input, partitions, recs);
      const summary = await runUntil(counting(name, input, output, dlq, 'exactlyOnce'), output, N);
      assert.equal(summary.status, 'stopped', summary.error);
      assert.equal(summary.recordsIn, N, 'records in counts the source only');
      const all = await readTopic(kafka, output);
      // emit: update sends one update per record, and a final result per window the watermark closed.
      const out = all.filter((r) => r.headers['sluice-window'] === 'update');
      assert.equal(out.length, N, 'one window update per input record, none twice (read_committed)');
      const finals = jsonValues(all.filter((r) => r.headers['sluice-window'] === 'final')).map((v) => `${v.user as string}@${v.window_start as number}`);
      assert.equal(new Set(finals).size, finals.length, 'each closed window is emitted once');
      assert.equal((await readTopic(kafka, dlq).catch(() => [])).length, 0, 'nothing dead-lettered, nothing late');
      if (partitions === 3) {
        assert.deepEqual(summary.repartitioned, { [`${name}-by-user-repartition`]: { written: N, read: N } });
        const hop = await readTopic(kafka, `${name}-by-user-repartition`);
        assert.equal(hop.length, N, 'the hop topic holds each record once');
        assert.ok(hop.every((r) => r.key === JSON.parse(r.value!.toString()).user), 'hop records are keyed by the new key');
        assert.ok(out.every((r) => r.headers['sluice-upstream'] === undefined), 'the internal header does not reach the output');
      }
      results.push(jsonValues(out));
    }
    // Each user's running count reaches its number of records once; window updates, as a
    // multiset of (user, window, count), match the single-partition run.
    const want = new Map<string, number>();
    for (let n = 0; n < N; n++) want.set(`u${(n * 7) % USERS}`, (want.get(`u${(n * 7) % USERS}`) ?? 0) + 1);
    const [three, one] = results as [Record<string, unknown>[], Record<string, unknown>[]];
    const finalCounts = new Map<string, number>();
    for (const v of three) {
      const k = `${v.user as string}@${v.window_start as number}`;
      finalCounts.set(k, Math.max(finalCounts.get(k) ?? 0, v.c as number));
    }
    const perUser = new Map<string, number>();
    for (const [k, c] of finalCounts) perUser.set(k.split('@')[0]!, (perUser.get(k.split('@')[0]!) ?? 0) + c);
    assert.deepEqual(Object.fromEntries([...perUser].sort()), Object.fromEntries([...want].sort()));
    const cells = (rows: Record<string, unknown>[]) => rows.map((v) => `${v.user as string}|${v.window_start as number}|${v.c as number}`).sort();
    assert.deepEqual(cells(three), cells(one));
  });

  test('a bounded run with a hop on Kafka is refused with what to do', { timeout: 60_000 }, async (t) => {
    if (!(await kafkaAvailable(t))) return;
    const kafka = testKafka();
    const input = uniqueName('rp-in');
    await produceTo(kafka, input, 2, [{ key: 'a', value: { user: 'x', amount: 1 } }]);
    const dir = await mkdtemp(join(tmpdir(), 'sluice-kafka-rp-'));
    try {
      await assert.rejects(Job.start(counting(uniqueName('rp'), input, uniqueName('rp-out'), uniqueName('rp-dlq'), 'atLeastOnce'), { connection: testConnection(), dataDir: dir, untilIdle: true, logger: memoryLogger() }), /on Kafka a job with a repartition hop runs live only/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
