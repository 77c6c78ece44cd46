// `sluice topics` against the real broker, chosen by SLUICE_KAFKA_BROKERS: the same flags as on
// the embedded log, and describe with each group's committed offsets and lag.
// First: sluice's Kafka connector fixes kafkajs's read_committed filter as kafkajs loads.
import '../../../connectors/kafka/index.js';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { resolve } from 'node:path';
import { Partitioners } from 'kafkajs';
import type { TopicDescription } from '../../../connectors/kafka/topic-ops.js';
import { KAFKA_BROKERS, kafkaAvailable, testKafka, uniqueName } from './helpers.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** bin/sluice.js with topics on the broker under test. */
function sluice(args: string[], input = '', env: Record<string, string> = {}): Promise<Run> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [resolve('bin/sluice.js'), ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, SLUICE_KAFKA_BROKERS: KAFKA_BROKERS.join(','), ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(input);
    child.on('exit', (code) => done({ code, stdout, stderr }));
  });
}

interface Printed {
  partition: number;
  offset: number;
  key: string | null;
  value: { k: string; n: number } | string;
}

const lines = (s: string): Printed[] => s.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Printed);

describe('sluice topics on Kafka', () => {
  test('create, produce (keyed), list, consume (--offset, --max, --values), describe with group lag', { timeout: 90_000 }, async (t) => {
    if (!(await kafkaAvailable(t))) return;
    const topic = uniqueName('cli-topic');
    const admin = testKafka().admin();
    await admin.connect();
    try {
      const created = await sluice(['topics', 'create', topic, '--partitions', '3']);
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stderr, new RegExp(`topic ${topic} created with 3 partition\\(s\\) on Kafka at`));
      assert.match((await sluice(['topics', 'create', topic, '--partitions', '3'])).stderr, /already exists with 3 partition/);

      const input = Array.from({ length: 30 }, (_, n) => JSON.stringify({ k: `key-${n % 7}`, n })).join('\n') + '\n\nnot json\n';
      const produced = await sluice(['topics', 'produce', topic, '--key', 'k'], input);
      assert.equal(produced.code, 0, produced.stderr);
      assert.match(produced.stderr, /produced 31 record\(s\)/);
      assert.match((await sluice(['topics', 'list'])).stdout, new RegExp(`^${topic}\\tpartitions=3\\trecords=31$`, 'm'));

      const all = lines((await sluice(['topics', 'consume', topic])).stdout);
      assert.equal(all.length, 31);
      const numbers = all.flatMap((r) => (typeof r.value === 'object' ? [r.value.n] : [])).sort((a, b) => a - b);
      assert.deepEqual(numbers, Array.from({ length: 30 }, (_, n) => n));
      assert.ok(all.some((r) => r.value === 'not json'), 'a line that is not JSON is kept as sent');
      const partitionOf = new Map<string, number>();
      for (const r of all) {
        if (r.key === null) continue;
        assert.equal(partitionOf.get(r.key) ?? r.partition, r.partition, `key ${r.key} lives in one partition`);
        partitionOf.set(r.key, r.partition);
      }
      assert.ok(new Set(partitionOf.values()).size > 1, 'keys spread over partitions');

      const fromTwo = lines((await sluice(['topics', 'consume', topic, '--offset', '2'])).stdout);
      assert.ok(fromTwo.length > 0 && fromTwo.every((r) => r.offset >= 2));
      assert.equal(fromTwo.length, all.filter((r) => r.offset >= 2).length);
      const values = (await sluice(['topics', 'consume', topic, '--max', '4', '--values'])).stdout.trim().split('\n');
      assert.equal(values.length, 4);

      // A group that has read part of the topic: committed offsets and lag per partition.
      const ends = (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition);
      const group = uniqueName('cli-group');
      await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: '1' }] });
      const described = await sluice(['topics', 'describe', topic, '--json']);
      assert.equal(described.code, 0, described.stderr);
      const d = JSON.parse(described.stdout) as TopicDescription;
      assert.deepEqual(d.partitions, ends.map((e) => ({ partition: e.partition, start: 0, end: Number(e.high) })));
      const g = d.groups.find((x) => x.group === group);
      assert.ok(g, `group ${group} is listed`);
      assert.deepEqual(g.partitions[0], { partition: 0, committed: 1, lag: Number(ends[0]!.high) - 1 });
      assert.deepEqual(g.partitions.slice(1).map((p) => p.committed), [null, null]);
      assert.ok(!d.groups.some((x) => x.group.startsWith('sluice-topics-consume-')), 'consume leaves no group behind');
      assert.match((await sluice(['topics', 'describe', topic])).stdout, new RegExp(`^${group}\\t0\\t1\\t${ends[0]!.high}\\t${Number(ends[0]!.high) - 1}$`, 'm'));

      const missing = await sluice(['topics', 'consume', uniqueName('no-such-topic')]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /NOT_FOUND: topic "no-such-topic-[0-9a-f]+" does not exist on Kafka/);
    } finally {
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect();
    }
  });

  test('consume reads to the end of a transactional topic (commit markers, aborted records) and stops', { timeout: 60_000 }, async (t) => {
    if (!(await kafkaAvailable(t))) return;
    const kafka = testKafka();
    const topic = uniqueName('cli-tx-topic');
    const admin = kafka.admin();
    const producer = kafka.producer({ transactionalId: uniqueName('cli-tx'), idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
      await producer.connect();
      const send = async (prefix: string, commit: boolean) => {
        const tx = await producer.transaction();
        await tx.send({ topic, messages: [0, 1].map((partition) => ({ partition, value: JSON.stringify({ k: prefix, n: partition }) })) });
        await (commit ? tx.commit() : tx.abort());
      };
      await send('kept', true);
      await send('aborted', false); // the partitions now end with an abort marker
      const started = Date.now();
      const got = lines((await sluice(['topics', 'consume', topic])).stdout);
      assert.deepEqual(got.map((r) => (typeof r.value === 'object' ? r.value.k : r.value)).sort(), ['kept', 'kept']);
      assert.ok(Date.now() - started < 20_000, 'consume stops at the end instead of waiting for records that will not come');
    } finally {
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect();
    }
  });
});
