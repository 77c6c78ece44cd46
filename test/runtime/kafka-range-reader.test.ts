// readRanges (changelog restores, --fresh scans) around a kafkajs consumer that crashes for good:
// recovery with a fresh consumer, and what stays final.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readRanges } from '../../connectors/kafka/index.js';
import { fakeKafkaMany, until } from './fake-kafka.js';

const coordinatorLost = () => Object.assign(new Error('Failed to find group coordinator'), { name: 'KafkaJSNonRetriableError' });

test('a crash kafkajs will not restart from gets a fresh consumer that reads on from what was handed over, nothing twice', async () => {
  const f = fakeKafkaMany();
  const got: number[] = [];
  const crashes: [string, boolean][] = [];
  const read = readRanges(f.kafka, 'g', [{ topic: 't', partition: 0, from: 2, to: 10 }], (_r, ms) => void got.push(...ms.map((m) => m.offset)), { retryMs: 5, onCrash: (e, r) => crashes.push([e.message, r]) });
  await until(() => f.made[0]?.eachBatch !== undefined, 'the first consumer runs');
  f.emit(0, 'join', { memberAssignment: { t: [0] } });
  assert.deepEqual(f.made[0]!.calls, ['seek 0@2']);
  await f.deliver(0, 0, [2, 3, 4, 5]);
  f.emit(0, 'crash', { error: coordinatorLost(), restart: false });
  await until(() => f.made[1]?.eachBatch !== undefined, 'a fresh consumer runs');
  assert.ok(f.made[0]!.disconnected, 'the crashed one is disconnected');
  f.emit(1, 'join', { memberAssignment: { t: [0] } });
  assert.deepEqual(f.made[1]!.calls, ['seek 0@6'], 'it seeks to just after what was handed over');
  await f.deliver(0, 0, [6, 7]); // the replaced consumer's last batch
  f.emit(0, 'crash', { error: new Error('late news from the old consumer'), restart: false });
  await f.deliver(1, 0, [4, 5, 6, 7, 8, 9]); // a fetch that starts before the seek took effect
  await read;
  assert.deepEqual(got, [2, 3, 4, 5, 6, 7, 8, 9], 'every offset once, in order');
  assert.deepEqual(crashes, [['Failed to find group coordinator', true]], 'told once, as a crash it recovers from');
  assert.equal(f.made.length, 2, 'events of a replaced consumer are ignored');
  assert.equal(f.deletedGroups.length, 1, 'the throw-away group is deleted');
});

test('a crash while the fresh consumer joins gets another one; refused permissions and endless crashes are final', async () => {
  const f = fakeKafkaMany();
  f.crashOnRun.n = 1; // the first fresh consumer crashes while joining
  const got: number[] = [];
  const read = readRanges(f.kafka, 'g', [{ topic: 't', partition: 0, from: 0, to: 2 }], (_r, ms) => void got.push(...ms.map((m) => m.offset)), { retryMs: 5 });
  await until(() => f.made[0]?.eachBatch !== undefined, 'the first consumer runs');
  f.emit(0, 'crash', { error: coordinatorLost(), restart: false });
  await until(() => f.made[2]?.eachBatch !== undefined, 'a third consumer runs');
  f.emit(2, 'join', { memberAssignment: { t: [0] } });
  await f.deliver(2, 0, [0, 1]);
  await read;
  assert.deepEqual(got, [0, 1]);

  const denied = fakeKafkaMany();
  const refused = readRanges(denied.kafka, 'g', [{ topic: 't', partition: 0, from: 0, to: 2 }], () => {}, { retryMs: 5 });
  await until(() => denied.made[0]?.eachBatch !== undefined, 'the consumer runs');
  denied.emit(0, 'crash', { error: Object.assign(new Error('Not authorized to access group'), { type: 'GROUP_AUTHORIZATION_FAILED' }), restart: false });
  await assert.rejects(refused, /Not authorized/);
  assert.equal(denied.made.length, 1, 'no fresh consumer after a refused permission');

  const down = fakeKafkaMany();
  const gaveUp = readRanges(down.kafka, 'g', [{ topic: 't', partition: 0, from: 0, to: 2 }], () => {}, { retryMs: 1, maxFailures: 2 });
  for (let i = 0; i < 3; i++) {
    await until(() => down.made[i]?.eachBatch !== undefined, `consumer ${i + 1} runs`);
    down.emit(i, 'crash', { error: coordinatorLost(), restart: false });
  }
  await assert.rejects(gaveUp, /Failed to find group coordinator/);
  assert.equal(down.made.length, 3, 'three crashes in a row without a fetch end it (maxFailures 2)');
});

test('the reader stops when told it has enough, and a read that does not finish in time says where it stood', async () => {
  const f = fakeKafkaMany();
  const got: number[] = [];
  const read = readRanges(f.kafka, 'g', [{ topic: 't', partition: 0, from: 0, to: 100 }], (_r, ms) => {
    got.push(...ms.map((m) => m.offset));
    return got.length >= 3 ? 'enough' : undefined;
  }, { groupId: 'exact-group' });
  await until(() => f.made[0]?.eachBatch !== undefined, 'the consumer runs');
  f.emit(0, 'join', { memberAssignment: { t: [0] } });
  await f.deliver(0, 0, [0, 1]);
  await f.deliver(0, 0, [2, 3]);
  await read;
  assert.deepEqual(got, [0, 1, 2, 3]);
  assert.ok(f.made[0]!.disconnected);
  assert.deepEqual(f.deletedGroups, ['exact-group'], 'the group named in the options is used and deleted');

  const slow = fakeKafkaMany();
  const late = readRanges(slow.kafka, 'g', [{ topic: 't', partition: 0, from: 0, to: 5 }], () => {}, { timeoutMs: 50 });
  await until(() => slow.made[0]?.eachBatch !== undefined, 'the consumer runs');
  slow.emit(0, 'join', { memberAssignment: { t: [0] } });
  await slow.deliver(0, 0, [0, 1]);
  await assert.rejects(late, (e: Error & { code?: string }) => e.code === 'DEADLINE_EXCEEDED' && /t\[0\] at 2 of 0\.\.5/.test(e.message));
});
