// The Kafka checkpoint commit's logic with in-memory stand-ins for the producer, the consumer
// group and the local log (the real broker is exercised by test/integration/kafka).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EmbeddedLog, LogCommit } from '../../connectors/embedded/index.js';
import type { GroupConsumer, IdempotentWriter, OutRecord } from '../../connectors/kafka/index.js';
import { memoryLogger } from '../../src/core/logger.js';
import { createMetrics } from '../../src/metrics/registry.js';
import { KafkaCheckpointCommitter, PartitionLostError, withRetries } from '../../src/runtime/kafka-commit.js';
import { Transaction } from '../../src/sinks/index.js';

function fakes(assigned = true) {
  const events: string[] = [];
  const sent: OutRecord[] = [];
  const commits: LogCommit[] = [];
  const writer = {
    async send(records: OutRecord[]) {
      events.push(`send ${records.length}`);
      sent.push(...records);
      const counts = new Map<string, number>();
      for (const r of records) counts.set(`${r.topic}|${r.partition ?? 0}`, (counts.get(`${r.topic}|${r.partition ?? 0}`) ?? 0) + 1);
      return [...counts.keys()].map((k) => ({ topicName: k.split('|')[0]!, partition: Number(k.split('|')[1]), errorCode: 0, baseOffset: '40' }));
    },
  } as unknown as IdempotentWriter;
  const consumer = {
    isAssigned: () => assigned,
    async commit(offsets: { topic: string; partition: number; offset: number }[]) {
      events.push(`commit ${offsets.map((o) => `${o.topic}[${o.partition}]@${o.offset}`).join(',')}`);
    },
  } as unknown as GroupConsumer;
  const log = {
    async commit(c: LogCommit) {
      events.push('local');
      commits.push(c);
      return { baseOffsets: [] };
    },
  } as unknown as EmbeddedLog;
  return { events, sent, commits, writer, consumer, log };
}

function committer(f: ReturnType<typeof fakes>) {
  return new KafkaCheckpointCommitter({ guarantee: 'atLeastOnce', topology: 'topo', group: 'g', task: 'in-2', partition: 2, idempotent: { writer: f.writer, consumer: f.consumer }, log: f.log, retry: { attempts: 3, initialMs: 1, maxMs: 2 }, logger: memoryLogger(), metrics: createMetrics() });
}

test('atLeastOnce: outputs and changelog records are acknowledged, then offsets committed, then the local cache written with changelog positions', async () => {
  const f = fakes();
  const tx = new Transaction('in-2');
  tx.produced.push({ topic: 'out', key: 'a', value: '{}' });
  tx.kv.push({ key: 'state/topo/in-2/running/aggregates/a', value: '{"n":1}' }, { key: 'state/topo/in-2/running/aggregates/b', value: undefined }, { key: 'state/topo/in-2/hourly/w/a', value: '[1]' }, { key: 'pos/topo/other', value: 'x' });
  tx.offsets.push({ group: 'g', topic: 'in', partition: 2, offset: 17 });
  await committer(f).commit(tx);
  assert.deepEqual(f.events, ['send 4', 'commit in[2]@17', 'local']);
  const changelog = f.sent.filter((r) => r.topic.endsWith('-changelog'));
  assert.deepEqual(
    changelog.map((r) => [r.topic, r.partition, r.key, r.value]),
    [
      ['topo-running-changelog', 2, 'in-2/running/aggregates/a', '{"n":1}'],
      ['topo-running-changelog', 2, 'in-2/running/aggregates/b', null],
      ['topo-hourly-changelog', 2, 'in-2/hourly/w/a', '[1]'],
    ],
    'one changelog per step, the input partition, keys with the task, deletes as tombstones',
  );
  const local = f.commits[0]!.kv!;
  assert.ok(local.some((w) => w.key === 'pos/topo/other'), 'other kv writes stay local');
  assert.deepEqual(local.filter((w) => w.key.startsWith('clpos/')).map((w) => [w.key, w.value]), [
    ['clpos/topo/in-2/running', '42'],
    ['clpos/topo/in-2/hourly', '41'],
  ], 'the cache is current up to base offset + records written');
});

test('atLeastOnce: a partition this member no longer owns is not committed, and the task learns it lost the partition', async () => {
  const f = fakes(false);
  const tx = new Transaction('in-2');
  tx.produced.push({ topic: 'out', key: 'a', value: '{}' });
  tx.offsets.push({ group: 'g', topic: 'in', partition: 2, offset: 5 });
  await assert.rejects(committer(f).commit(tx), PartitionLostError);
  assert.deepEqual(f.events, ['send 1'], 'no offset commit and no local write');
});

test('withRetries retries with growing delays and logs each retry; a fenced producer is not retried', async () => {
  const logger = memoryLogger();
  let calls = 0;
  const result = await withRetries('thing', { attempts: 4, initialMs: 1, maxMs: 4 }, { logger, operation: 'x' }, async () => {
    if (++calls < 3) throw new Error(`boom ${calls}`);
    return 'ok';
  });
  assert.equal(result, 'ok');
  assert.equal(calls, 3);
  assert.equal(logger.lines.filter((l) => /thing failed \(boom \d\); retrying in \d+ ms/.test(l)).length, 2);
  assert.ok(logger.lines.some((l) => /thing succeeded on attempt 3/.test(l)));
  let fencedCalls = 0;
  const fenced = Object.assign(new Error('There is a newer producer with the same transactionalId which fences the current one'), { type: 'INVALID_PRODUCER_EPOCH' });
  await assert.rejects(
    withRetries('tx', { attempts: 5, initialMs: 1, maxMs: 1 }, { logger, operation: 'x' }, async () => {
      fencedCalls++;
      throw fenced;
    }),
    /fences/,
  );
  assert.equal(fencedCalls, 1);
  await assert.rejects(withRetries('gives up', { attempts: 2, initialMs: 1, maxMs: 1 }, { logger, operation: 'x' }, async () => Promise.reject(new Error('down'))), /down/);
});
