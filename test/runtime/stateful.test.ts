import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedLog } from '../../connectors/embedded/index.js';
import { memoryLogger } from '../../src/core/logger.js';
import { Job } from '../../src/runtime/job.js';
import { runTopology } from '../../src/testing/index.js';
import { topology } from '../../src/topology/builder.js';

const H = 3_600_000;

function windowed(source: { type: 'topic'; topic: string }) {
  return topology('w')
    .source('in', source)
    .keyBy({ key: 'user' })
    .step('aggregate', { id: 'running', aggregates: { n: { count: {} }, total: { sum: 'amount' } } })
    .step('window', { id: 'hourly', window: { tumbling: '1h' }, aggregates: { spend: { sum: 'amount' } }, keyFields: ['user'] })
    .to('out')
    .sink('out', { type: 'topic', topic: 'out' })
    .sink('dlq', { type: 'topic', topic: 'dlq' })
    .deadLetter('dlq')
    .build();
}

test('aggregate and window run through the runtime; windows close on the watermark and at the end of input', async () => {
  const r = await runTopology(windowed({ type: 'topic', topic: 'in' }), {
    in: [
      { value: { user: 'a', amount: 1 }, timestamp: 0 },
      { value: { user: 'b', amount: 5 }, timestamp: 10 },
      { value: { user: 'a', amount: 2 }, timestamp: 20 },
      { value: { user: 'a', amount: 4 }, timestamp: H + 1 },
      { value: { user: 'a', amount: 'x' }, timestamp: H + 2 },
    ],
  });
  const windows = r.outputs.out!.map((v) => [v.user, v.window_start, v.spend]);
  assert.deepEqual(windows, [['a', 0, 3], ['b', 0, 5], ['a', H, 4]]);
  assert.equal(r.deadLetters.length, 1);
  assert.match(r.deadLetters[0]!.error.message, /needs a number/);
});

test('keyed state survives a restart on the same data directory', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-state-'));
  const log = await EmbeddedLog.open(dir);
  try {
    const def = topology('s')
      .source('in', { type: 'topic', topic: 'in' })
      .step('aggregate', { id: 'running', aggregates: { n: { count: {} } } })
      .to('out')
      .sink('out', { type: 'topic', topic: 'out' })
      .sink('dlq', { type: 'topic', topic: 'dlq' })
      .deadLetter('dlq')
      .build();
    await log.createTopic('in', 1);
    await log.produce('in', [{ key: 'k', value: '{"v": 1}', timestamp: 1 }]);
    await (await Job.start(def, { log, untilIdle: true, logger: memoryLogger() })).done;
    await log.produce('in', [{ key: 'k', value: '{"v": 2}', timestamp: 2 }, { key: 'j', value: '{"v": 3}', timestamp: 3 }]);
    await (await Job.start(def, { log, untilIdle: true, logger: memoryLogger() })).done;
    const out = (await log.read('out', 0, 0, 10)).map((r) => [r.key, (JSON.parse(String(r.value)) as { n: number }).n]);
    assert.deepEqual(out, [['k', 1], ['k', 2], ['j', 1]]);
    await (await Job.start(def, { log, untilIdle: true, fresh: true, logger: memoryLogger() })).done;
    const again = (await log.read('out', 0, 3, 10)).map((r) => [r.key, (JSON.parse(String(r.value)) as { n: number }).n]);
    assert.deepEqual(again, [['k', 1], ['k', 2], ['j', 1]], '--fresh discards state and positions');
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('keyed state after keyBy over several partitions is no longer refused: it reads through a repartition topic', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-state-'));
  const log = await EmbeddedLog.open(dir);
  try {
    await log.createTopic('in2', 2);
    const def = windowed({ type: 'topic', topic: 'in2' });
    await log.produce('in2', [{ key: 'x', value: '{"user": "a", "amount": 1}', timestamp: 0 }, { key: 'y', value: '{"user": "a", "amount": 2}', timestamp: 1 }]);
    const s = await (await Job.start(def, { log, untilIdle: true, logger: memoryLogger() })).done;
    assert.equal(s.status, 'completed', s.error);
    assert.deepEqual(s.repartitioned, { 'w-keyBy-0-repartition': { written: 2, read: 2 } });
    const out = (await log.read('out', 0, 0, 10)).map((r) => JSON.parse(String(r.value)) as { user: string; spend: number });
    assert.deepEqual(out.map((v) => [v.user, v.spend]), [['a', 3]], 'one window for the key, with both records');
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
});
