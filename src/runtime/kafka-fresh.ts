import type { Kafka } from 'kafkajs';
import { IdempotentWriter, errorText, readRanges, type KafkaTopicAdmin, type OutRecord } from '../../connectors/kafka/index.js';
import { SluiceError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { kafkaError } from './kafka-setup.js';

/**
 * `--fresh` on Kafka: what the job keeps on the cluster is removed before any task starts, so
 * that neither this run, nor an instance that later takes a partition over, nor the next run
 * without --fresh reads the old run's positions or state back.
 */
export interface FreshTargets {
  /** The job's consumer group, and the topics it may hold offsets on (inputs, the bridge's requests). */
  group: { id: string; topics: readonly string[] };
  /** One group per Kafka repartition hop (`<group>.<hop topic>`), deleted with it. */
  hopGroups: readonly string[];
  /** Repartition topics: their records are deleted (DeleteRecords), the topics kept. */
  hopTopics: readonly string[];
  /** Changelog topics of the job's stateful steps: every key still in them gets a tombstone. */
  changelogs: readonly string[];
}

export interface FreshReport {
  groupsDeleted: string[];
  /** Offsets deleted from the hop topics (records and transaction markers). */
  hopRecordsDeleted: number;
  tombstones: number;
}

/**
 * Refuses while a group has live members (another instance runs: its offsets and state would be
 * pulled from under it), then deletes the groups (their committed offsets go with them),
 * truncates the hop topics and writes a tombstone for every live key of each changelog.
 *
 * Changelogs are compacted, and Kafka refuses DeleteRecords on compacted topics; deleting and
 * recreating one would restart its offsets at 0, where another instance's local cache could take
 * an old saved position for a valid one. Tombstones keep offsets growing, so any cache that
 * reads the tail, or rebuilds from the start, ends with the old keys gone.
 */
export async function startOverOnKafka(kafka: Kafka, admin: KafkaTopicAdmin, t: FreshTargets, logger: Logger): Promise<FreshReport> {
  try {
    const groups = [t.group.id, ...t.hopGroups];
    for (const g of groups) {
      const d = await admin.describeGroup(g);
      if (d.members.length) {
        const who = d.members.map((m) => `${m.clientId}@${m.clientHost.replace(/^\//, '')}`).join(', ');
        throw new SluiceError('GROUP_ACTIVE', `--fresh refused: consumer group "${g}" has ${d.members.length} live member(s) (${who}), so another instance of the job is running; stop every instance (a crashed one leaves the group after its session timeout), then run --fresh on one instance only`);
      }
    }
    const foreign = (await admin.groupTopics(t.group.id)).filter((topic) => !t.group.topics.includes(topic));
    if (foreign.length) throw new SluiceError('INVALID_TOPOLOGY', `--fresh refused: consumer group "${t.group.id}" also holds committed offsets on ${foreign.map((x) => `"${x}"`).join(', ')}, which are not this job's inputs, and deleting the group would lose them; give the job's sources a group of its own (\`group:\`), or delete the group by hand (kafka-consumer-groups --delete --group ${t.group.id})`);
    const report: FreshReport = { groupsDeleted: [], hopRecordsDeleted: 0, tombstones: 0 };
    for (const g of groups) if (await admin.deleteGroup(g)) report.groupsDeleted.push(g);
    for (const topic of t.hopTopics) if ((await admin.partitionCount(topic)) !== undefined) report.hopRecordsDeleted += await admin.truncate(topic);
    for (const topic of t.changelogs) if ((await admin.partitionCount(topic)) !== undefined) report.tombstones += await tombstoneAll(kafka, admin, topic, t.group.id, logger);
    logger.info(
      `--fresh on Kafka: deleted consumer group(s) ${report.groupsDeleted.length ? report.groupsDeleted.map((g) => `"${g}"`).join(', ') : '(none had offsets)'} with their committed offsets` +
        (t.hopTopics.length ? `; emptied repartition topic(s) ${t.hopTopics.join(', ')} (${report.hopRecordsDeleted} offset(s), transaction markers included)` : '') +
        (t.changelogs.length ? `; wrote ${report.tombstones} tombstone(s) to changelog topic(s) ${t.changelogs.join(', ')}` : ''),
    );
    return report;
  } catch (err) {
    throw kafkaError(err);
  }
}

/** Reads a changelog to its end (committed records) and tombstones each key whose last value is not one already. */
async function tombstoneAll(kafka: Kafka, admin: KafkaTopicAdmin, topic: string, group: string, logger: Logger): Promise<number> {
  const offsets = await admin.offsets(topic);
  const live = new Map<number, Map<string, boolean>>();
  await readRanges(kafka, `${group}-fresh`, offsets.map((p) => ({ topic, partition: p.partition, from: p.low, to: p.high })), (r, messages) => {
    let keys = live.get(r.partition);
    if (!keys) live.set(r.partition, (keys = new Map()));
    for (const m of messages) if (m.key) keys.set(m.key.toString('utf8'), m.value !== null);
  }, { onCrash: (err, recovering) => recovering && logger.warn(`--fresh: the Kafka consumer reading changelog topic "${topic}" failed (${errorText(err)}); a fresh one reads on with backoff`) });
  const out: OutRecord[] = [];
  for (const [partition, keys] of live) for (const [key, present] of keys) if (present) out.push({ topic, partition, key, value: null });
  if (!out.length) return 0;
  const writer = new IdempotentWriter(kafka);
  try {
    await writer.connect();
    await writer.send(out);
  } catch (err) {
    if (/AUTHORIZATION_FAILED/.test(errorText(err)) || /AUTHORIZATION_FAILED/.test(String((err as { type?: string }).type))) {
      throw new SluiceError('KAFKA_FORBIDDEN', `--fresh: Kafka refused to write tombstones to changelog topic "${topic}" (${errorText(err)}); grant this client's principal Write on the topic`, {}, { cause: err });
    }
    throw err;
  } finally {
    await writer.close();
  }
  return out.length;
}
