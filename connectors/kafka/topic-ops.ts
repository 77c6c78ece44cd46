// Topic operations on Kafka for `sluice topics` (kept apart from the runtime's admin.ts): list, create,
// describe (end offsets and each group's committed offsets and lag), produce lines, read a topic up to its end.
import { randomBytes } from 'node:crypto';
import { Partitioners, type Admin, type Kafka, type Message, type Producer } from 'kafkajs';
import { SluiceError } from '../../src/core/errors.js';
import { createKafkaClient, type KafkaConnection } from './config.js';
import { kafkaError } from './sluice-error.js';
import { readToEnd } from './topic-reader.js';

export interface TopicSummary {
  name: string;
  partitions: number;
  /** Records between each partition's start and end offsets (on Kafka, transaction markers count too). */
  records: number;
}

export interface PartitionOffsets {
  partition: number;
  /** The first offset still stored. */
  start: number;
  /** The offset the next record will get (Kafka's high watermark). */
  end: number;
}

export interface GroupLag {
  group: string;
  /** Every partition of the topic; `committed` is null where the group has committed nothing. */
  partitions: { partition: number; committed: number | null; lag: number | null }[];
  /** Sum of the known lags. */
  totalLag: number;
}

export interface TopicDescription {
  name: string;
  partitions: PartitionOffsets[];
  /** Groups with a committed offset on at least one partition of the topic. */
  groups: GroupLag[];
}

/** A record to append: the value as text (JSON lines from the CLI). */
export interface OutgoingRecord {
  key: string | null;
  value: string;
  timestamp: number;
}

export interface IncomingRecord {
  partition: number;
  offset: number;
  key: string | null;
  timestamp: number;
  value: string;
}

/** Lag per partition: end - committed, or null without a commit. */
export function groupLag(group: string, ends: PartitionOffsets[], committed: Map<number, number>): GroupLag {
  let totalLag = 0;
  const partitions = ends.map((p) => {
    const c = committed.get(p.partition);
    if (c === undefined) return { partition: p.partition, committed: null, lag: null };
    const lag = Math.max(0, p.end - c);
    totalLag += lag;
    return { partition: p.partition, committed: c, lag };
  });
  return { group, partitions, totalLag };
}

/**
 * Admin, producer and reader for one Kafka connection profile. Errors are SluiceErrors that
 * name the brokers and what to fix (wrong credentials, unreachable brokers, missing topics).
 */
export class KafkaTopicOps {
  private producer: Producer | undefined;

  private constructor(
    readonly conn: KafkaConnection,
    private readonly kafka: Kafka,
    private readonly admin: Admin,
  ) {}

  /** Connects an admin client; fails fast with a clear error on bad credentials or unreachable brokers. */
  static async connect(conn: KafkaConnection, clientId = 'sluice-topics'): Promise<KafkaTopicOps> {
    const kafka = createKafkaClient(conn, clientId);
    const admin = kafka.admin();
    try {
      await admin.connect();
    } catch (err) {
      await admin.disconnect().catch(() => {});
      throw kafkaError(err, conn, 'connecting');
    }
    return new KafkaTopicOps(conn, kafka, admin);
  }

  private async call<T>(action: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw kafkaError(err, this.conn, action);
    }
  }

  /** User topics (not Kafka's internal `__…` ones), sorted by name. */
  async list(): Promise<TopicSummary[]> {
    return this.call('listing topics', async () => {
      const names = (await this.admin.listTopics()).filter((t) => !t.startsWith('__')).sort();
      const out: TopicSummary[] = [];
      for (const name of names) {
        const offsets = await this.offsets(name);
        out.push({ name, partitions: offsets.length, records: offsets.reduce((sum, p) => sum + p.end - p.start, 0) });
      }
      return out;
    });
  }

  async exists(name: string): Promise<boolean> {
    return this.call('listing topics', async () => (await this.admin.listTopics()).includes(name));
  }

  /** Creates a topic with the profile's defaults unless told otherwise; an existing topic is kept as it is. */
  async create(name: string, partitions?: number): Promise<{ name: string; partitions: number; created: boolean }> {
    return this.call(`creating topic "${name}"`, async () => {
      const created = await this.admin.createTopics({
        topics: [{ topic: name, numPartitions: partitions ?? this.conn.topics.partitions, replicationFactor: this.conn.topics.replicationFactor }],
        waitForLeaders: true,
      });
      return { name, partitions: (await this.offsets(name)).length, created };
    });
  }

  /** Start and end offsets of every partition, by partition number. */
  async offsets(name: string): Promise<PartitionOffsets[]> {
    const rows = await this.admin.fetchTopicOffsets(name);
    return rows.map((r) => ({ partition: r.partition, start: Number(r.low), end: Number(r.high) })).sort((a, b) => a.partition - b.partition);
  }

  /** Partitions with their offsets, and every consumer group that has committed offsets on the topic. */
  async describe(name: string): Promise<TopicDescription> {
    await this.requireTopic(name);
    return this.call(`describing topic "${name}"`, async () => {
      const partitions = await this.offsets(name);
      const { groups } = await this.admin.listGroups();
      const described: GroupLag[] = [];
      for (const { groupId } of groups.sort((a, b) => a.groupId.localeCompare(b.groupId))) {
        const fetched = await this.admin.fetchOffsets({ groupId, topics: [name] });
        const committed = new Map<number, number>();
        for (const t of fetched) for (const p of t.partitions) if (Number(p.offset) >= 0) committed.set(p.partition, Number(p.offset));
        if (committed.size) described.push(groupLag(groupId, partitions, committed));
      }
      return { name, partitions, groups: described };
    });
  }

  /** A missing topic is NOT_FOUND, naming the topics that do exist. */
  async requireTopic(name: string): Promise<void> {
    const names = await this.call('listing topics', () => this.admin.listTopics());
    if (!names.includes(name)) {
      const known = names.filter((t) => !t.startsWith('__')).sort();
      throw new SluiceError('NOT_FOUND', `topic "${name}" does not exist on Kafka at ${this.conn.brokers.join(',')}; topics: ${known.length ? known.join(', ') : '(none)'}`, { topic: name });
    }
  }

  /**
   * Appends records, keyed ones placed by Kafka's default partitioner (murmur2, as the Java
   * client does), with an idempotent producer (acks all). A missing topic is created with the
   * profile's defaults when `topics.create` allows, else NOT_FOUND.
   */
  async produce(name: string, records: OutgoingRecord[]): Promise<void> {
    if (!records.length) return;
    const producer = await this.connectedProducer();
    const messages: Message[] = records.map((r) => ({ key: r.key, value: r.value, timestamp: String(r.timestamp) }));
    await this.call(`producing to topic "${name}"`, () => producer.send({ topic: name, acks: -1, messages }));
  }

  /** Creates `name` if missing and the profile allows it; NOT_FOUND otherwise. */
  async ensureTopic(name: string): Promise<void> {
    if (await this.exists(name)) return;
    if (!this.conn.topics.create) {
      await this.requireTopic(name);
      return;
    }
    await this.create(name);
  }

  private async connectedProducer(): Promise<Producer> {
    if (this.producer) return this.producer;
    const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
    await this.call('connecting a producer', () => producer.connect());
    this.producer = producer;
    return producer;
  }

  /**
   * Reads every partition from `offset` (or its start, if later) up to the end offsets seen
   * when called, committed records only, at most `max` records, handing each fetched batch to
   * `onRecords`. Returns the count read.
   */
  async consume(name: string, o: { offset: number; max: number; timeoutMs?: number }, onRecords: (records: IncomingRecord[]) => void): Promise<number> {
    await this.requireTopic(name);
    const partitions = await this.call(`reading offsets of topic "${name}"`, () => this.offsets(name));
    // It commits nothing, and readToEnd deletes it, which keeps `describe` free of throwaway groups.
    return await readToEnd(this.kafka, this.conn, `sluice-topics-consume-${randomBytes(4).toString('hex')}`, name, partitions, o, onRecords);
  }

  async close(): Promise<void> {
    await this.producer?.disconnect().catch(() => {});
    await this.admin.disconnect().catch(() => {});
  }
}
