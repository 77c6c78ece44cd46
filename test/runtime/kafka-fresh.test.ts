// --fresh on Kafka, the logic around the broker's answers (the real broker runs in
// test/integration/kafka/fresh.kafka.test.ts): refusals while the group is busy or holds foreign
// offsets, and ACL refusals that name the topic or group. kafkajs's admin is faked here.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { KafkaTopicAdmin, type KafkaConnection } from '../../connectors/kafka/index.js';
import { memoryLogger } from '../../src/core/logger.js';
import { startOverOnKafka } from '../../src/runtime/kafka-fresh.js';

const conn = { brokers: ['b:9092'], topics: { create: true, partitions: 1, replicationFactor: 1 }, retry: { retries: 0, initialRetryTimeMs: 1, maxRetryTimeMs: 1 } } as unknown as KafkaConnection;

interface FakeAdmin {
  members: { memberId: string; clientId: string; clientHost: string }[];
  offsets: { topic: string; partitions: { partition: number; offset: string }[] }[];
  deleteGroups(ids: string[]): Promise<unknown>;
  deleteTopicRecords(): Promise<void>;
  deleted: string[];
}

function fake(over: Partial<FakeAdmin> = {}): { kafka: Kafka; admin: KafkaTopicAdmin; state: FakeAdmin } {
  const state: FakeAdmin = {
    members: [],
    offsets: [{ topic: 'in', partitions: [{ partition: 0, offset: '5' }] }],
    deleted: [],
    async deleteGroups(ids) {
      state.deleted.push(...ids);
      return ids.map((groupId) => ({ groupId, errorCode: 0 }));
    },
    async deleteTopicRecords() {},
    ...over,
  };
  const kafkaAdmin = {
    describeGroups: async (ids: string[]) => ({ groups: ids.map((groupId) => ({ groupId, state: state.members.length ? 'Stable' : 'Empty', members: state.members })) }),
    fetchOffsets: async () => state.offsets,
    deleteGroups: (ids: string[]) => state.deleteGroups(ids),
    deleteTopicRecords: () => state.deleteTopicRecords(),
    fetchTopicMetadata: async () => ({ topics: [{ name: 'hop', partitions: [{ partitionId: 0 }] }] }),
    fetchTopicOffsets: async () => [{ partition: 0, low: '0', high: '10', offset: '10' }],
    listTopics: async () => ['in', 'hop'],
  };
  const kafka = { admin: () => kafkaAdmin } as unknown as Kafka;
  return { kafka, admin: new KafkaTopicAdmin(kafka, conn), state };
}

const targets = { group: { id: 'job', topics: ['in'] }, hopGroups: [], hopTopics: [], changelogs: [] };

test('--fresh is refused with GROUP_ACTIVE, naming the group and its members, while an instance is in it; nothing is deleted', async () => {
  const { kafka, admin, state } = fake({ members: [{ memberId: 'm1', clientId: 'sluice', clientHost: '/10.0.0.7' }] });
  await assert.rejects(startOverOnKafka(kafka, admin, targets, memoryLogger()), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'GROUP_ACTIVE');
    assert.match(err.message, /consumer group "job" has 1 live member\(s\) \(sluice@10\.0\.0\.7\)/);
    return true;
  });
  assert.deepEqual(state.deleted, []);
});

test('--fresh is refused when the group also holds offsets of topics that are not the job\'s inputs', async () => {
  const { kafka, admin, state } = fake({ offsets: [{ topic: 'in', partitions: [{ partition: 0, offset: '5' }] }, { topic: 'other', partitions: [{ partition: 0, offset: '3' }] }] });
  await assert.rejects(startOverOnKafka(kafka, admin, targets, memoryLogger()), /consumer group "job" also holds committed offsets on "other"/);
  assert.deepEqual(state.deleted, []);
});

test('an empty group is deleted and the log says so; a group that never existed is no error', async () => {
  const { kafka, admin, state } = fake();
  const log = memoryLogger();
  assert.deepEqual((await startOverOnKafka(kafka, admin, targets, log)).groupsDeleted, ['job']);
  assert.deepEqual(state.deleted, ['job']);
  assert.ok(log.lines.some((l) => /--fresh on Kafka: deleted consumer group\(s\) "job"/.test(l)));
  const none = fake({ deleteGroups: async () => Promise.reject(Object.assign(new Error('Error in DeleteGroups'), { name: 'KafkaJSDeleteGroupsError', groups: [{ groupId: 'job', error: { type: 'GROUP_ID_NOT_FOUND' } }] })) });
  assert.deepEqual((await startOverOnKafka(none.kafka, none.admin, targets, memoryLogger())).groupsDeleted, []);
});

test('ACL refusals become KAFKA_FORBIDDEN naming the group or the topic', async () => {
  const groupDenied = fake({ deleteGroups: async () => Promise.reject(Object.assign(new Error('Error in DeleteGroups'), { name: 'KafkaJSDeleteGroupsError', groups: [{ groupId: 'job', error: { type: 'GROUP_AUTHORIZATION_FAILED' } }] })) });
  await assert.rejects(startOverOnKafka(groupDenied.kafka, groupDenied.admin, targets, memoryLogger()), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'KAFKA_FORBIDDEN');
    assert.match(err.message, /delete consumer group "job" \(GROUP_AUTHORIZATION_FAILED\).*Delete on the group/);
    return true;
  });
  const topicDenied = fake({
    deleteTopicRecords: async () => Promise.reject(Object.assign(new Error('Error while deleting records'), { name: 'KafkaJSNonRetriableError', cause: { name: 'KafkaJSDeleteTopicRecordsError', partitions: [{ partition: 0, error: { type: 'TOPIC_AUTHORIZATION_FAILED' } }] } })),
  });
  await assert.rejects(startOverOnKafka(topicDenied.kafka, topicDenied.admin, { ...targets, hopTopics: ['hop'] }, memoryLogger()), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'KAFKA_FORBIDDEN');
    assert.match(err.message, /delete the records of topic "hop" \(TOPIC_AUTHORIZATION_FAILED\)/);
    return true;
  });
});
