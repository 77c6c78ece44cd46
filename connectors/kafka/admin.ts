import type { Admin, Kafka } from 'kafkajs';
import type { KafkaConnection } from './config.js';
import { errorText, isAuthFailure } from './errors.js';

/** Why a Kafka call failed, in words a user can act on (thrown as Error; the runtime wraps it). */
export class KafkaConnectError extends Error {
  constructor(message: string, readonly kind: 'unreachable' | 'auth' | 'missing-topic' | 'denied', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KafkaConnectError';
  }
}

export interface PartitionOffsets {
  partition: number;
  /** First offset still in the log. */
  low: number;
  /** The end: the next offset to be written (read_committed: the last stable offset). */
  high: number;
}

/**
 * Retries what a busy broker answers with retriable errors (a topic created a moment ago that
 * a broker does not host yet, a coordinator still loading) for up to `withinMs`, beyond the
 * client's own retries; anything else fails at once.
 */
async function patiently<T>(fn: () => Promise<T>, withinMs = 30_000): Promise<T> {
  const end = Date.now() + withinMs;
  for (let delay = 200; ; delay = Math.min(delay * 2, 2000)) {
    try {
      return await fn();
    } catch (err) {
      const e = err as { retriable?: boolean; type?: string; name?: string };
      const retriable = e.retriable === true || e.type === 'UNKNOWN_TOPIC_OR_PARTITION' || e.type === 'LEADER_NOT_AVAILABLE' || e.name === 'KafkaJSNumberOfRetriesExceeded' && /does not host|leader|coordinator/i.test(String((err as Error).message));
      if (!retriable || Date.now() + delay > end || isAuthFailure(err)) throw err;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** Topic administration and offset look-ups against a Kafka cluster. */
export class KafkaTopicAdmin {
  private readonly admin: Admin;
  private connected = false;

  constructor(kafka: Kafka, private readonly conn: KafkaConnection) {
    this.admin = kafka.admin();
  }

  /** Connects, turning "cannot reach" and "bad credentials" into errors that say so. */
  async connect(): Promise<void> {
    if (this.connected) return;
    try {
      await this.admin.connect();
      await this.admin.describeCluster();
      this.connected = true;
    } catch (err) {
      await this.admin.disconnect().catch(() => {});
      throw describeConnectFailure(err, this.conn);
    }
  }

  /**
   * Partitions of `topic`; a missing topic is created with `partitions` (else the profile's
   * default) when the profile allows it, else an error naming it.
   */
  async ensureTopic(topic: string, opts: { partitions?: number; compacted?: boolean; what?: string } = {}): Promise<number> {
    const existing = await patiently(() => this.partitionCount(topic));
    if (existing !== undefined) return existing;
    if (!this.conn.topics.create) {
      throw new KafkaConnectError(`${opts.what ?? 'topic'} "${topic}" does not exist on ${this.conn.brokers.join(',')}; create it (sluice topics create ${topic}) or set connection.kafka.topics.create: true`, 'missing-topic');
    }
    const numPartitions = opts.partitions ?? this.conn.topics.partitions;
    const configEntries = opts.compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : [];
    await patiently(() => this.admin.createTopics({ topics: [{ topic, numPartitions, replicationFactor: this.conn.topics.replicationFactor, configEntries }], waitForLeaders: true }));
    // A busy broker may not serve the new topic's metadata yet: wait until it does.
    await patiently(async () => {
      await this.admin.fetchTopicOffsets(topic);
    });
    return (await patiently(() => this.partitionCount(topic))) ?? numPartitions;
  }

  /** The topic's partition count, or undefined when it does not exist. */
  async partitionCount(topic: string): Promise<number | undefined> {
    const topics = await this.admin.listTopics();
    if (!topics.includes(topic)) return undefined;
    const meta = await this.admin.fetchTopicMetadata({ topics: [topic] });
    return meta.topics[0]?.partitions.length;
  }

  async offsets(topic: string): Promise<PartitionOffsets[]> {
    const rows = await patiently(() => this.admin.fetchTopicOffsets(topic));
    return rows.map((r) => ({ partition: r.partition, low: Number(r.low), high: Number(r.high) })).sort((a, b) => a.partition - b.partition);
  }

  /** Per partition, the first offset whose timestamp is at or after `ms` (the end when there is none). */
  async offsetsForTimestamp(topic: string, ms: number): Promise<Map<number, number>> {
    const [rows, ends] = await Promise.all([patiently(() => this.admin.fetchTopicOffsetsByTimestamp(topic, ms)), this.offsets(topic)]);
    const out = new Map<number, number>();
    for (const e of ends) {
      const o = Number(rows.find((r) => r.partition === e.partition)?.offset ?? -1);
      out.set(e.partition, o < 0 ? e.high : o);
    }
    return out;
  }

  /** The group's committed offsets on `topic` (partitions without one are absent). */
  async committed(group: string, topic: string): Promise<Map<number, number>> {
    const res = await patiently(() => this.admin.fetchOffsets({ groupId: group, topics: [topic] }));
    const out = new Map<number, number>();
    for (const p of res[0]?.partitions ?? []) {
      const o = Number(p.offset);
      if (o >= 0) out.set(p.partition, o);
    }
    return out;
  }

  /** The group's state and live members (a group that never existed, or was deleted, is 'Dead' with none). */
  async describeGroup(group: string): Promise<{ state: string; members: { memberId: string; clientId: string; clientHost: string }[] }> {
    const res = await patiently(() => this.admin.describeGroups([group])).catch((err: unknown) => Promise.reject(denied(err, `describe consumer group "${group}"`, 'Describe on the group')));
    const g = res.groups[0];
    return { state: g?.state ?? 'Dead', members: (g?.members ?? []).map((m) => ({ memberId: m.memberId, clientId: m.clientId, clientHost: m.clientHost })) };
  }

  /** Topics the group has a committed offset on (any partition). */
  async groupTopics(group: string): Promise<string[]> {
    const res = await patiently(() => this.admin.fetchOffsets({ groupId: group })).catch((err: unknown) => Promise.reject(denied(err, `read the committed offsets of consumer group "${group}"`, 'Describe on the group')));
    return res.filter((t) => t.partitions.some((p) => Number(p.offset) >= 0)).map((t) => t.topic);
  }

  /**
   * Deletes a consumer group and every offset it committed; false when there was none. The
   * broker refuses a group with live members (GROUP_NOT_EMPTY), so check describeGroup first
   * to say who is still running.
   */
  async deleteGroup(group: string): Promise<boolean> {
    try {
      await this.admin.deleteGroups([group]);
      return true;
    } catch (err) {
      const types = ((err as { groups?: { error?: { type?: string } }[] }).groups ?? []).map((g) => g.error?.type);
      if (types.length && types.every((t) => t === 'GROUP_ID_NOT_FOUND')) return false;
      throw denied(err, `delete consumer group "${group}"`, 'Delete on the group');
    }
  }

  /**
   * Removes every record of `topic` (DeleteRecords up to each partition's high watermark, -1; offsets go on
   * from there, so positions saved before stay below the new start). Returns the records
   * removed. Kafka refuses this on compacted topics (POLICY_VIOLATION).
   */
  async truncate(topic: string): Promise<number> {
    // kafkajs finds partition leaders in its cached metadata; load the topic's first.
    await patiently(() => this.admin.fetchTopicMetadata({ topics: [topic] }));
    const before = await this.offsets(topic);
    const todo = before.filter((p) => p.high > p.low);
    if (!todo.length) return 0;
    await this.admin.deleteTopicRecords({ topic, partitions: todo.map((p) => ({ partition: p.partition, offset: '-1' })) }).catch((err: unknown) => Promise.reject(denied(err, `delete the records of topic "${topic}"`, 'Delete on the topic')));
    return todo.reduce((n, p) => n + p.high - p.low, 0);
  }

  async disconnect(): Promise<void> {
    this.connected = false;
    await this.admin.disconnect().catch(() => {});
  }
}

/** The broker's error types inside a kafkajs error (its partition or group errors included). */
function errorTypes(err: unknown): string[] {
  const out: string[] = [];
  for (let e = err as { type?: string; cause?: unknown; originalError?: unknown; partitions?: { error?: { type?: string } }[]; groups?: { error?: { type?: string } }[] } | undefined, depth = 0; e && depth < 5; e = (e.cause ?? e.originalError) as typeof e, depth++) {
    if (e.type) out.push(e.type);
    for (const p of [...(e.partitions ?? []), ...(e.groups ?? [])]) if (p.error?.type) out.push(p.error.type);
  }
  return out;
}

/** An authorization failure becomes an error naming what was refused and the ACL it needs; others pass through. */
function denied(err: unknown, what: string, acl: string): unknown {
  const types = errorTypes(err);
  if (types.some((t) => /AUTHORIZATION_FAILED$/.test(t))) return new KafkaConnectError(`Kafka refused to ${what} (${types.find((t) => /AUTHORIZATION_FAILED$/.test(t))}): grant this client's principal ${acl} (kafka-acls --add --operation ${acl.split(' ')[0]})`, 'denied', { cause: err });
  if (types.includes('POLICY_VIOLATION')) return new KafkaConnectError(`Kafka refused to ${what}: the broker's policy forbids it (POLICY_VIOLATION; DeleteRecords needs cleanup.policy delete)`, 'denied', { cause: err });
  if (types.includes('GROUP_NOT_EMPTY')) return new KafkaConnectError(`Kafka refused to ${what}: the group has live members (GROUP_NOT_EMPTY)`, 'denied', { cause: err });
  return err;
}

/** One sentence for a failed first contact: unreachable after the configured retries, or refused credentials. */
export function describeConnectFailure(err: unknown, conn: KafkaConnection): KafkaConnectError {
  const where = conn.brokers.join(',');
  if (isAuthFailure(err)) {
    return new KafkaConnectError(`Kafka at ${where} refused the SASL ${conn.sasl?.mechanism ?? ''} credentials${conn.sasl ? ` of user "${conn.sasl.username}"` : ''}: ${errorText(err)}; check connection.kafka.sasl (or SLUICE_KAFKA_USERNAME/SLUICE_KAFKA_PASSWORD)`, 'auth', { cause: err });
  }
  return new KafkaConnectError(`cannot reach Kafka at ${where} after ${conn.retry.retries} retries (connection timeout ${conn.connectionTimeoutMs} ms): ${errorText(err)}; check connection.kafka.brokers and that the broker is up`, 'unreachable', { cause: err });
}
