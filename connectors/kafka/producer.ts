import { CompressionTypes, type Kafka, type Message, type Producer, type RecordMetadata, type TopicMessages } from 'kafkajs';
import { KeyHashPartitioner } from './partitioner.js';

/** A record to produce. No partition: the key's murmur2 hash picks it (Java client compatible). */
export interface OutRecord {
  topic: string;
  partition?: number;
  key: Buffer | string | null;
  /** null: a tombstone (compacted topics forget the key). */
  value: Buffer | string | null;
  headers?: Record<string, string | Buffer>;
  timestamp?: number;
}

export interface ConsumedOffsets {
  group: string;
  offsets: { topic: string; partition: number; offset: number }[];
}

/**
 * kafkajs's produce request copies every message as `{ ...message, offsetDelta, timestampDelta }`
 * before encoding it. V8 copies an object several times faster when the copy keeps its shape, so
 * every message is built with one shape that already has those two properties (kafkajs sets them;
 * an absent partition, header set or timestamp is undefined, which kafkajs treats as absent).
 */
interface ShapedMessage extends Message {
  offsetDelta: number;
  timestampDelta: number;
}

function toTopicMessages(records: readonly OutRecord[]): TopicMessages[] {
  const byTopic = new Map<string, Message[]>();
  let lastTopic: string | undefined;
  let list: Message[] = [];
  for (const r of records) {
    if (r.topic !== lastTopic) {
      lastTopic = r.topic;
      let l = byTopic.get(r.topic);
      if (!l) byTopic.set(r.topic, (l = []));
      list = l;
    }
    const m: ShapedMessage = { key: r.key, value: r.value, partition: r.partition, headers: r.headers, timestamp: r.timestamp === undefined ? undefined : String(r.timestamp), offsetDelta: 0, timestampDelta: 0 } as ShapedMessage;
    list.push(m);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

/**
 * The broker refuses a record batch over `message.max.bytes` (1 MiB by default), and kafkajs sends
 * each send() for one partition as one batch: a checkpoint's records go out in chunks below that.
 */
const CHUNK_BYTES = 768 * 1024;

function recordBytes(r: OutRecord): number {
  let n = 70 + (r.key?.length ?? 0) + (r.value?.length ?? 0);
  if (r.headers) for (const [k, v] of Object.entries(r.headers)) n += k.length + v.length + 2;
  return n;
}

/** Splits records into runs whose bytes stay under CHUNK_BYTES (a record larger than that goes alone, and the broker judges it). */
export function chunkRecords(records: readonly OutRecord[], maxBytes = CHUNK_BYTES): OutRecord[][] {
  const out: OutRecord[][] = [];
  let cur: OutRecord[] = [];
  let bytes = 0;
  for (const r of records) {
    const b = recordBytes(r);
    if (cur.length && bytes + b > maxBytes) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(r);
    bytes += b;
  }
  if (cur.length) out.push(cur);
  return out;
}

/**
 * Sends the chunks one after another; per topic-partition the metadata keeps the FIRST chunk's
 * base offset, so base offset + records sent never points past what this call wrote.
 */
async function sendChunked(records: readonly OutRecord[], send: (topicMessages: TopicMessages[]) => Promise<RecordMetadata[]>): Promise<RecordMetadata[]> {
  const first = new Map<string, RecordMetadata>();
  for (const chunk of chunkRecords(records)) {
    for (const m of await send(toTopicMessages(chunk))) {
      const k = `${m.topicName}\0${m.partition}`;
      if (!first.has(k)) first.set(k, m);
    }
  }
  return [...first.values()];
}

/** Producer settings shared by both guarantees: batches as sent, no extra linger (kafkajs sends each send() at once); kafkajs's default partitioning, hashed faster. */
const COMMON = { createPartitioner: KeyHashPartitioner, allowAutoTopicCreation: false } as const;

/** At-least-once: an idempotent producer (acks=all, no duplicates from its own retries). */
export class IdempotentWriter {
  private readonly producer: Producer;

  constructor(kafka: Kafka) {
    this.producer = kafka.producer({ ...COMMON, idempotent: true, maxInFlightRequests: 5 });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  /** Resolves once every record is acknowledged by all in-sync replicas. */
  async send(records: readonly OutRecord[]): Promise<RecordMetadata[]> {
    if (!records.length) return [];
    return sendChunked(records, (topicMessages) => this.producer.sendBatch({ topicMessages, acks: -1, compression: CompressionTypes.None }));
  }

  async close(): Promise<void> {
    await this.producer.disconnect().catch(() => {});
  }
}

/**
 * Exactly-once: a transactional producer. One instance per transactional id; `connect()`
 * (initTransactions) fences any older producer with the same id and aborts its open transaction.
 */
export class TransactionalWriter {
  private readonly producer: Producer;
  /** True once an abort failed: the producer's transaction state is unknown, make a new one (initTransactions settles it). */
  broken = false;

  constructor(kafka: Kafka, readonly transactionalId: string, transactionTimeoutMs = 60_000) {
    this.producer = kafka.producer({ ...COMMON, idempotent: true, maxInFlightRequests: 1, transactionalId, transactionTimeout: transactionTimeoutMs });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  /** One transaction: the records, then the consumed offsets (sendOffsets), then commit. Aborts on failure and rethrows. */
  async commit(records: readonly OutRecord[], consumed: ConsumedOffsets | undefined): Promise<RecordMetadata[]> {
    const tx = await this.producer.transaction();
    try {
      const meta = records.length ? await sendChunked(records, (topicMessages) => tx.sendBatch({ topicMessages, compression: CompressionTypes.None })) : [];
      if (consumed?.offsets.length) {
        const topics = new Map<string, { partition: number; offset: string }[]>();
        for (const o of consumed.offsets) {
          let l = topics.get(o.topic);
          if (!l) topics.set(o.topic, (l = []));
          l.push({ partition: o.partition, offset: String(o.offset) });
        }
        await tx.sendOffsets({ consumerGroupId: consumed.group, topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })) });
      }
      await tx.commit();
      return meta;
    } catch (err) {
      await tx.abort().catch(() => {
        this.broken = true;
      });
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.producer.disconnect().catch(() => {});
  }
}
