// GroupConsumer's own logic (buffering per partition, pause/resume, seek, assignment changes)
// against a stand-in for the kafkajs consumer; the real broker is used in test/integration/kafka.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EachBatchPayload, Kafka } from 'kafkajs';
import { GroupConsumer, type TopicPartition } from '../../connectors/kafka/index.js';

function fakeKafka() {
  const handlers = new Map<string, (e: { payload: unknown }) => void>();
  const calls: string[] = [];
  let eachBatch: ((p: EachBatchPayload) => Promise<void>) | undefined;
  const consumer = {
    events: { GROUP_JOIN: 'join', CRASH: 'crash', END_BATCH_PROCESS: 'end' },
    on: (name: string, h: (e: { payload: unknown }) => void) => void handlers.set(name, h),
    connect: async () => undefined,
    subscribe: async () => undefined,
    run: async (o: { eachBatch: (p: EachBatchPayload) => Promise<void> }) => void (eachBatch = o.eachBatch),
    pause: (tp: { topic: string; partitions: number[] }[]) => calls.push(`pause ${tp[0]!.partitions.join(',')}`),
    resume: (tp: { topic: string; partitions: number[] }[]) => calls.push(`resume ${tp[0]!.partitions.join(',')}`),
    seek: (o: { partition: number; offset: string }) => calls.push(`seek ${o.partition}@${o.offset}`),
    disconnect: async () => undefined,
  };
  const kafka = { consumer: () => consumer } as unknown as Kafka;
  const join = (assignment: Record<string, number[]>) => handlers.get('join')!({ payload: { memberAssignment: assignment } });
  let heartbeats = 0;
  const deliver = (partition: number, offsets: number[], highWatermark: number) =>
    eachBatch!({
      batch: { topic: 't', partition, highWatermark: String(highWatermark), messages: offsets.map((o) => ({ offset: String(o), key: Buffer.from('k'), value: Buffer.from(`{"o":${o}}`), timestamp: '5', headers: {} })) },
      heartbeat: async () => void heartbeats++,
    } as unknown as EachBatchPayload);
  return { kafka, calls, join, deliver, heartbeats: () => heartbeats };
}

test('records are buffered per partition, a full buffer pauses the partition and draining resumes it', async () => {
  const f = fakeKafka();
  const changes: [TopicPartition[], TopicPartition[]][] = [];
  const c = new GroupConsumer(f.kafka, { groupId: 'g', topics: ['t'], maxBuffered: 4, onAssignment: (a, l) => changes.push([a, l]) });
  await c.start();
  f.join({ t: [0, 1] });
  assert.deepEqual(changes, [[[{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }], []]]);
  c.seek('t', 0, 10);
  await f.deliver(0, [8, 9, 10, 11, 12, 13], 20);
  assert.equal(f.heartbeats(), 1, 'eachBatch heartbeats');
  assert.ok(f.calls.includes('pause 0'), 'four or more buffered records pause the partition');
  assert.equal(c.lag('t', 0, 10), 10, 'lag = log end - read position');
  const signal = new AbortController().signal;
  const first = await c.take('t', 0, 3, 10, signal);
  assert.deepEqual(first.map((m) => m.offset), [10, 11, 12], 'records before the seek are dropped');
  assert.ok(f.calls.includes('resume 0'), 'draining to half resumes fetching');
  await f.deliver(0, [12, 13, 14], 20);
  assert.deepEqual((await c.take('t', 0, 10, 10, signal)).map((m) => m.offset), [13, 14], 'a re-fetch after a rebalance never repeats a record');
  assert.deepEqual(await c.take('t', 1, 10, 20, signal), [], 'an idle partition answers after the wait');

  f.join({ t: [1] });
  assert.deepEqual(changes[1], [[], [{ topic: 't', partition: 0 }]], 'a revoked partition is reported lost');
  await f.deliver(0, [15], 20);
  assert.deepEqual(await c.take('t', 0, 10, 10, signal), [], 'nothing is taken from a partition this member lost');
  assert.equal(c.isAssigned('t', 0), false);
});
