import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedLog } from '../../connectors/embedded/index.js';
import { memoryLogger } from '../../src/core/logger.js';
import { Job, type JobOptions } from '../../src/runtime/job.js';
import { topology } from '../../src/topology/builder.js';
import type { TopologyDefinition } from '../../src/topology/schema.js';

type Bounds = NonNullable<Extract<TopologyDefinition['sources'][string], { type: 'topic' }>['bounded']>;

function replay(name: string, bounded: Bounds | undefined, out: string) {
  return topology(name)
    .source('in', { type: 'topic', topic: 'in', ...(bounded ? { bounded } : {}) })
    .to('out')
    .sink('out', { type: 'topic', topic: out })
    .sink('dlq', { type: 'topic', topic: 'dlq' })
    .deadLetter('dlq')
    .build();
}

async function ids(log: EmbeddedLog, topic: string): Promise<number[]> {
  const all: number[] = [];
  for (let p = 0; p < log.requireTopic(topic).partitions; p++) all.push(...(await log.read(topic, p, 0, 100_000)).map((r) => (JSON.parse(String(r.value)) as { id: number }).id));
  return all.sort((a, b) => a - b);
}

async function withLog(fn: (log: EmbeddedLog, run: (def: TopologyDefinition, o?: JobOptions) => Promise<number>) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-replay-'));
  const log = await EmbeddedLog.open(dir);
  try {
    await log.createTopic('in', 1);
    // 100 records with timestamps 10_000, 10_010, ...
    await log.produce('in', Array.from({ length: 100 }, (_, id) => ({ key: null, value: JSON.stringify({ id }), timestamp: 10_000 + id * 10 })));
    await fn(log, async (def, o = {}) => (await (await Job.start(def, { log, logger: memoryLogger(), ...o })).done).recordsIn);
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
}

test('offset bounds replay [from, to) and end on their own', async () => {
  await withLog(async (log, run) => {
    assert.equal(await run(replay('a', { from: { offset: 10 }, to: { offset: 25 } }, 'a-out')), 15);
    assert.deepEqual(await ids(log, 'a-out'), Array.from({ length: 15 }, (_, i) => 10 + i));
  });
});

test('timestamp bounds pick the first record at or after each time', async () => {
  await withLog(async (log, run) => {
    await run(replay('t', { from: { timestamp: 10_095 }, to: { timestamp: new Date(10_200).toISOString() } }, 't-out'));
    assert.deepEqual(await ids(log, 't-out'), Array.from({ length: 10 }, (_, i) => 10 + i));
  });
});

test('a rerun resumes from the committed position; latest is fixed when the job starts', async () => {
  await withLog(async (log, run) => {
    const def = replay('r', { from: 'earliest', to: 'latest' }, 'r-out');
    assert.equal(await run(def), 100);
    await log.produce('in', [{ key: null, value: '{"id": 100}', timestamp: 99_999 }]);
    assert.equal(await run(def), 1, 'the second replay reads only what came after the first');
    assert.equal(await run(def, { fresh: true }), 101, '--fresh starts over');
  });
});

test('run --from-backfill-end continues live exactly where the backfill stopped', async () => {
  await withLog(async (log, run) => {
    const def = replay('h', { from: 'earliest', to: { offset: 60 } }, 'h-out');
    assert.equal(await run(def), 60);
    assert.equal(await run(def, { fromBackfillEnd: true, untilIdle: true }), 40);
    assert.deepEqual(await ids(log, 'h-out'), Array.from({ length: 100 }, (_, i) => i));
  });
});

test('from-backfill-end without a backfill says what to do', async () => {
  await withLog(async (_log, run) => {
    await assert.rejects(run(replay('none', undefined, 'n-out'), { fromBackfillEnd: true, untilIdle: true }), /group "none" has no committed position .* run the backfill first/);
  });
});
