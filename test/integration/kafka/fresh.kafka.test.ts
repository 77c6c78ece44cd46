// `--fresh` on Kafka starts a job over on the cluster too: the group's committed offsets and the
// changelogs' keys are removed before any task starts, so neither this run, nor a restore into an
// empty data directory, nor the next plain run reads the old run's state back; and it is refused
// while another instance is in the group.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { memoryLogger } from '../../../src/core/logger.js';
import { createMetrics } from '../../../src/metrics/registry.js';
import { Job } from '../../../src/runtime/job.js';
import type { TopologyDefinition } from '../../../src/topology/schema.js';
import type { JobSummary } from '../../../src/runtime/job.js';
import { dropTopics, jsonValues, kafkaAvailable, produceTo, readTopic, testConnection, testKafka, uniqueName } from './helpers.js';

const KEYS = 5;

/**
 * A running count per key. `newLogic` is the topology after a change that needs --fresh: it
 * ignores key u4's records with i < 50 (the old ones), so u4's old count must not come back.
 */
function counting(name: string, input: string, output: string, newLogic: boolean): TopologyDefinition {
  return {
    name,
    sources: { in: { type: 'topic', topic: input } },
    pipeline: [...(newLogic ? [{ filter: { where: 'g != 4 || i >= 50' } }] : []), { aggregate: { id: 'running', aggregates: { n: { count: {} } } } }, { sink: 'out' }],
    sinks: { out: { type: 'topic', topic: output, partitions: 2 } },
    onError: 'fail',
    runtime: { guarantee: 'exactlyOnce', batchSize: 10 },
  };
}

const records = (from: number, count: number) => Array.from({ length: count }, (_, j) => ({ key: `u${(from + j) % KEYS}`, value: { i: from + j, g: (from + j) % KEYS } }));

/** Per key (u0..u4), the sorted running counts in `topic`. */
async function countsByKey(kafka: ReturnType<typeof testKafka>, topic: string): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const v of jsonValues(await readTopic(kafka, topic))) (out[`u${v.g as number}`] ??= []).push(v.n as number);
  for (const k of Object.keys(out)) out[k]!.sort((a, b) => a - b);
  return out;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('--fresh on Kafka', () => {
  test('starts over: counts from 1 again; an empty data dir restores only the fresh state; a plain restart continues the fresh run', { timeout: 240_000 }, async (t) => {
    if (!(await kafkaAvailable(t))) return;
    const kafka = testKafka();
    const name = uniqueName('fresh');
    const input = uniqueName('in');
    const outs = [uniqueName('out1'), uniqueName('out2'), uniqueName('out3'), uniqueName('out4')];
    const [dir1, dir2] = [await mkdtemp(join(tmpdir(), 'sluice-fresh1-')), await mkdtemp(join(tmpdir(), 'sluice-fresh2-'))];
    const run = async (def: TopologyDefinition, dataDir: string, fresh: boolean) => {
      const logger = memoryLogger();
      const s = await (await Job.start(def, { connection: testConnection(), dataDir, untilIdle: true, fresh, logger, metrics: createMetrics() })).done;
      assert.equal(s.status, 'completed', s.error);
      return { s, lines: logger.lines };
    };
    try {
      await produceTo(kafka, input, 2, records(0, 50));
      const first = await run(counting(name, input, outs[0]!, false), dir1, false);
      assert.equal(first.s.recordsIn, 50);
      assert.deepEqual(await countsByKey(kafka, outs[0]!), { u0: range(1, 10), u1: range(1, 10), u2: range(1, 10), u3: range(1, 10), u4: range(1, 10) });

      // The same input again with --fresh (and the changed logic): every count starts at 1, not at 11.
      const fresh = await run(counting(name, input, outs[1]!, true), dir1, true);
      assert.equal(fresh.s.recordsIn, 50, '--fresh reads the input from its start, not from the old committed offsets');
      assert.deepEqual(await countsByKey(kafka, outs[1]!), { u0: range(1, 10), u1: range(1, 10), u2: range(1, 10), u3: range(1, 10) });
      const said = fresh.lines.join('\n');
      assert.match(said, new RegExp(`--fresh on Kafka: deleted consumer group\\(s\\) "${name}" with their committed offsets; wrote [1-9]\\d* tombstone\\(s\\) to changelog topic\\(s\\) ${name}-running-changelog`));
      assert.match(said, /--fresh: cleared the local state cache/);

      // Another instance with an empty data directory restores from the changelog: u4's old count (10) must not come back.
      await produceTo(kafka, input, 2, records(50, 25));
      const restored = await run(counting(name, input, outs[2]!, true), dir2, false);
      assert.equal(restored.s.recordsIn, 25, 'a plain run after --fresh starts at the fresh run\'s committed offsets');
      assert.ok(restored.lines.some((l) => /restored state from changelogs/.test(l)), 'the empty directory was filled from the changelog');
      assert.deepEqual(await countsByKey(kafka, outs[2]!), { u0: range(11, 15), u1: range(11, 15), u2: range(11, 15), u3: range(11, 15), u4: range(1, 5) });

      // And the fresh run's own directory, restarted without --fresh, continues from there (its cache plus the changelog's tail).
      await produceTo(kafka, input, 2, records(75, 25));
      const again = await run(counting(name, input, outs[3]!, true), dir1, false);
      assert.equal(again.s.recordsIn, 25);
      assert.deepEqual(await countsByKey(kafka, outs[3]!), { u0: range(16, 20), u1: range(16, 20), u2: range(16, 20), u3: range(16, 20), u4: range(6, 10) });
    } finally {
      await dropTopics(kafka, [input, ...outs], [name]);
      await rm(dir1, { recursive: true, force: true });
      await rm(dir2, { recursive: true, force: true });
    }
  });

  test('is refused, naming the group, while another instance is in it; allowed once it has left', { timeout: 180_000 }, async (t) => {
    if (!(await kafkaAvailable(t))) return;
    const kafka = testKafka();
    const name = uniqueName('fresh-busy');
    const [input, output] = [uniqueName('in'), uniqueName('out')];
    const [dirA, dirB] = [await mkdtemp(join(tmpdir(), 'sluice-freshA-')), await mkdtemp(join(tmpdir(), 'sluice-freshB-'))];
    const def = counting(name, input, output, false);
    try {
      await produceTo(kafka, input, 2, records(0, 20));
      const a = await Job.start(def, { connection: testConnection(), dataDir: dirA, logger: memoryLogger() });
      try {
        for (let i = 0; i < 600 && (await readTopic(kafka, output).catch(() => [])).length < 20; i++) await new Promise((r) => setTimeout(r, 100));
        await assert.rejects(Job.start(def, { connection: testConnection(), dataDir: dirB, untilIdle: true, fresh: true, logger: memoryLogger() }), (err: Error & { code?: string }) => {
          assert.equal(err.code, 'GROUP_ACTIVE');
          assert.match(err.message, new RegExp(`consumer group "${name}" has 1 live member`));
          return true;
        });
      } finally {
        await a.stop();
      }
      // The refused attempt removed nothing: a plain run continues A's counts.
      await produceTo(kafka, input, 2, records(20, 5));
      const plain = await (await Job.start(def, { connection: testConnection(), dataDir: dirB, untilIdle: true, logger: memoryLogger() })).done;
      assert.equal(plain.recordsIn, 5);
      const after = await countsByKey(kafka, output);
      assert.deepEqual(after.u0, range(1, 5));
      // With A gone the group is empty and --fresh goes ahead.
      const s = await (await Job.start(def, { connection: testConnection(), dataDir: dirB, untilIdle: true, fresh: true, logger: memoryLogger() })).done;
      assert.equal(s.status, 'completed', s.error);
      assert.equal(s.recordsIn, 25);
    } finally {
      await dropTopics(kafka, [input, output], [name]);
      await rm(dirA, { recursive: true, force: true });
      await rm(dirB, { recursive: true, force: true });
    }
  });

  test('with a Kafka repartition hop: the hop topic is emptied and its group deleted, so stage 2 counts from 1 again', { timeout: 240_000 }, async (t) => {
    if (!(await kafkaAvailable(t))) return;
    const kafka = testKafka();
    const name = uniqueName('fresh-hop');
    const input = uniqueName('in');
    const outs = [uniqueName('out1'), uniqueName('out2'), uniqueName('out3')];
    const dir = await mkdtemp(join(tmpdir(), 'sluice-freshhop-'));
    const def = (output: string): TopologyDefinition => ({
      name,
      sources: { in: { type: 'topic', topic: input } },
      pipeline: [{ keyBy: { id: 'by-user', key: 'user' } }, { aggregate: { id: 'running', aggregates: { n: { count: {} } } } }, { sink: 'out' }],
      sinks: { out: { type: 'topic', topic: output } },
      onError: 'fail',
      runtime: { guarantee: 'exactlyOnce', batchSize: 10 },
    });
    // A job with a Kafka hop runs live only: run it until its output holds `want` records, then stop it.
    const runLive = async (output: string, want: number, fresh: boolean): Promise<{ s: JobSummary; lines: string[] }> => {
      const logger = memoryLogger();
      const job = await Job.start(def(output), { connection: testConnection(), dataDir: dir, fresh, logger });
      for (let i = 0; i < 900 && (await readTopic(kafka, output).catch(() => [])).length < want; i++) await new Promise((r) => setTimeout(r, 100));
      const s = await job.stop();
      assert.equal(s.status, 'stopped', s.error);
      return { s, lines: logger.lines };
    };
    const users = async (output: string) => {
      const out: Record<string, number[]> = {};
      for (const v of jsonValues(await readTopic(kafka, output))) (out[v.user as string] ??= []).push(v.n as number);
      for (const k of Object.keys(out)) out[k]!.sort((a, b) => a - b);
      return out;
    };
    const recs = (from: number, count: number) => Array.from({ length: count }, (_, j) => ({ key: `id${from + j}`, value: { user: `u${(from + j) % 3}`, seq: from + j } }));
    try {
      await produceTo(kafka, input, 3, recs(0, 60));
      await runLive(outs[0]!, 60, false);
      assert.deepEqual(await users(outs[0]!), { u0: range(1, 20), u1: range(1, 20), u2: range(1, 20) });

      const fresh = await runLive(outs[1]!, 60, true);
      assert.deepEqual(await users(outs[1]!), { u0: range(1, 20), u1: range(1, 20), u2: range(1, 20) }, 'counts start at 1 again after the hop, each record counted once');
      assert.match(fresh.lines.join('\n'), new RegExp(`deleted consumer group\\(s\\) "${name}", "${name}\\.${name}-by-user-repartition" with their committed offsets; emptied repartition topic\\(s\\) ${name}-by-user-repartition \\(\\d+ offset`));

      await produceTo(kafka, input, 3, recs(60, 15));
      await runLive(outs[2]!, 15, false);
      assert.deepEqual(await users(outs[2]!), { u0: range(21, 25), u1: range(21, 25), u2: range(21, 25) }, 'a plain restart continues the fresh run');
    } finally {
      await dropTopics(kafka, [input, ...outs, `${name}-by-user-repartition`], [name]);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
