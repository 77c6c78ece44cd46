// GroupConsumer's own logic (buffering per partition, pause/resume, seek, assignment changes)
// against a stand-in for the kafkajs consumer; the real broker is used in test/integration/kafka.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EachBatchPayload, Kafka } from 'kafkajs';
import { GroupConsumer, type TopicPartition } from '../../connectors/kafka/index.js';
import { fakeKafkaMany, until } from './fake-kafka.js';

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

const retry = { retries: 2, initialRetryTime: 5, maxRetryTime: 20 };

/** A started GroupConsumer on `f`, and what each crash was told (true: it recovers). */
async function startedWithCrashLog(f: ReturnType<typeof fakeKafkaMany>) {
  const crashes: boolean[] = [];
  const c = new GroupConsumer(f.kafka, { groupId: 'g', topics: ['t'], retry, onAssignment: () => {}, onCrash: (_e, r) => crashes.push(r) });
  await c.start();
  return { c, crashes };
}

test('a crash kafkajs will not restart from (coordinator lost in a broker restart) gets a fresh consumer that resumes after what was fetched', async () => {
  const f = fakeKafkaMany();
  const crashes: [string, boolean][] = [];
  const changes: unknown[] = [];
  const c = new GroupConsumer(f.kafka, { groupId: 'g', topics: ['t'], retry, onAssignment: (a, l) => changes.push([a, l]), onCrash: (e, r) => crashes.push([e.message, r]) });
  await c.start();
  f.emit(0, 'join', { memberAssignment: { t: [0] } });
  c.seek('t', 0, 5);
  await f.deliver(0, 0, [5, 6, 7]);
  f.emit(0, 'crash', { error: Object.assign(new Error('Failed to find group coordinator'), { name: 'KafkaJSNonRetriableError' }), restart: false });
  assert.deepEqual(crashes, [['Failed to find group coordinator', true]], 'told, as a crash it recovers from');
  await until(() => f.made.length === 2 && f.made[1]!.eachBatch !== undefined, 'a second consumer runs');
  assert.ok(f.made[0]!.disconnected, 'the crashed one is disconnected');
  f.emit(1, 'join', { memberAssignment: { t: [0] } });
  assert.deepEqual(f.made[1]!.calls, ['seek 0@8'], 'the new consumer seeks past what was already fetched, not to the older committed offset');
  assert.equal(changes.length, 1, 'the same assignment again is no rebalance for the tasks');
  f.emit(0, 'crash', { error: new Error('late news from the old consumer'), restart: false });
  assert.equal(f.made.length, 2, 'events of a replaced consumer are ignored');
  await f.deliver(1, 0, [8, 9]);
  const got = await c.take('t', 0, 10, 10, new AbortController().signal);
  assert.deepEqual(got.map((m) => m.offset), [5, 6, 7, 8, 9], 'buffered records survive the replacement, none twice');
  await c.stop();
});

test('a refused permission is final, and so are maxFailures crashes in a row without a fetch between them', async () => {
  const denied = fakeKafkaMany();
  const { c, crashes } = await startedWithCrashLog(denied);
  denied.emit(0, 'crash', { error: Object.assign(new Error('Not authorized to access group'), { type: 'GROUP_AUTHORIZATION_FAILED' }), restart: false });
  assert.deepEqual(crashes, [false]);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(denied.made.length, 1, 'no new consumer after a refusal');
  await c.stop();

  const flaky = fakeKafkaMany();
  const told: boolean[] = [];
  const d = new GroupConsumer(flaky.kafka, { groupId: 'g', topics: ['t'], retry, maxFailures: 2, onAssignment: () => {}, onCrash: (_e, r) => told.push(r) });
  await d.start();
  const crash = (i: number) => flaky.emit(i, 'crash', { error: new Error('Connection error: connect ECONNREFUSED'), restart: false });
  crash(0);
  await until(() => flaky.made.length === 2, 'replaced after the first crash');
  flaky.emit(1, 'fetch', {});
  crash(1);
  await until(() => flaky.made.length === 3, 'a fetch in between resets the count');
  crash(2);
  await until(() => flaky.made.length === 4, 'second in a row: still replaced');
  crash(3);
  assert.deepEqual(told, [true, true, true, false], 'the third crash in a row is final');
  await d.stop();
});

test('a fetch loop gone silent while partitions are assigned is replaced (watchdog); paused partitions are not silence', async () => {
  const f = fakeKafkaMany();
  const stalls: string[] = [];
  const c = new GroupConsumer(f.kafka, { groupId: 'g', topics: ['t'], retry, maxBuffered: 2, stallMs: 60, onAssignment: () => {}, onStall: (why) => stalls.push(why) });
  await c.start();
  f.emit(0, 'join', { memberAssignment: { t: [0] } });
  await f.deliver(0, 0, [0, 1, 2]);
  assert.ok(f.made[0]!.calls.includes('pause'), 'a full buffer pauses the only partition');
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(f.made.length, 1, 'no fetches while every partition is paused is not a stall');
  await c.take('t', 0, 10, 10, new AbortController().signal);
  for (let i = 0; i < 5; i++) {
    f.emit(0, 'fetch', {});
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(f.made.length, 1, 'fetches keep it alive');
  await until(() => f.made.length === 2, 'silence past stallMs brings a new consumer');
  assert.match(stalls[0]!, /no fetch for \d+ s \(last sign of life: fetch\)/);
  assert.equal(c.restarts, 1);
  await c.stop();
});

test('while kafkajs restarts a consumer (no running group), draining a paused partition does not throw, and the pause comes back at the next join', async () => {
  const f = fakeKafkaMany();
  const c = new GroupConsumer(f.kafka, { groupId: 'g', topics: ['t'], retry, maxBuffered: 2, onAssignment: () => {} });
  await c.start();
  f.emit(0, 'join', { memberAssignment: { t: [0] } });
  await f.deliver(0, 0, [0, 1, 2]);
  assert.deepEqual(f.made[0]!.calls, ['pause']);
  f.made[0]!.groupless = true;
  f.emit(0, 'crash', { error: new Error('Connection error'), restart: true });
  await f.deliver(0, 0, [3, 4]);
  f.made[0]!.groupless = false;
  f.emit(0, 'join', { memberAssignment: { t: [0] } });
  assert.deepEqual(f.made[0]!.calls, ['pause', 'pause'], 'kafkajs forgot the pause in its restart: it is applied again');
  f.made[0]!.groupless = true;
  const got = await c.take('t', 0, 10, 10, new AbortController().signal);
  assert.deepEqual(got.map((m) => m.offset), [0, 1, 2, 3, 4], 'taking works while kafkajs has no group');
  await c.stop();
});

test('a replacement that crashes while joining is replaced again', async () => {
  const f = fakeKafkaMany();
  const { c, crashes } = await startedWithCrashLog(f);
  f.emit(0, 'join', { memberAssignment: { t: [0] } });
  f.crashOnRun.n = 1;
  f.emit(0, 'crash', { error: new Error('Failed to find group coordinator'), restart: false });
  await until(() => f.made.length === 3, 'a third consumer after the second crashed while joining');
  assert.deepEqual(crashes, [true, true]);
  await c.stop();
});
