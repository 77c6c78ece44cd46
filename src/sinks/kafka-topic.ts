import type { OutRecord } from '../../connectors/kafka/index.js';
import { jsonValueEncoder, type KeyEncoder, type ValueEncoder } from '../../connectors/serde/index.js';
import type { DeadLetter, StreamRecord } from '../core/record.js';
import type { Sink } from './sink.js';
import { encodeRejection, orderedStaging } from './topic.js';
import type { Transaction } from './transaction.js';

/** Header names of a dead letter on Kafka (Kafka Connect's DLQ puts its context in headers the same way). */
export const DLQ_HEADERS = {
  code: 'sluice.error.code',
  message: 'sluice.error.message',
  operator: 'sluice.error.operator',
  topic: 'sluice.source.topic',
  partition: 'sluice.source.partition',
  offset: 'sluice.source.offset',
  source: 'sluice.source.name',
  timestamp: 'sluice.source.timestamp',
} as const;

export interface KafkaSinkOptions {
  /** How values (and keys) are encoded. Default: JSON values, UTF-8 keys. */
  codecs?: { value: ValueEncoder; key?: KeyEncoder | undefined } | undefined;
  /** Bytes (key + value + headers) above which a record is dead-lettered instead of produced. Default 1,000,000 (under the broker's 1 MiB default). */
  maxRecordBytes?: number;
  /** The Kafka topic a source name reads, for dead-letter headers. */
  topicOfSource?: (source: string) => string | undefined;
}

/**
 * Writes records to a Kafka topic inside the checkpoint: they join `tx.produced`, which the
 * Kafka checkpoint committer sends in the checkpoint's transaction (exactlyOnce) or before it
 * commits offsets (atLeastOnce). The record key picks the partition (murmur2, as Java clients do).
 */
export function createKafkaTopicSink(name: string, topic: string, o: KafkaSinkOptions): Sink {
  const max = o.maxRecordBytes ?? 1_000_000;
  const valueEnc = o.codecs?.value ?? jsonValueEncoder;
  const keyEnc = o.codecs?.key;

  function produce(records: StreamRecord[], tx: Transaction): DeadLetter[] | undefined {
    let rejected: DeadLetter[] | undefined;
    for (const r of records) {
      let value: string | Buffer;
      let key: string | Buffer | null;
      try {
        value = valueEnc.encode(r.value);
        key = keyEnc ? keyEnc.encode(r.key) : r.key;
      } catch (err) {
        // A value that does not fit the sink's Avro schema is a bad record, not a broken job.
        (rejected ??= []).push(encodeRejection(name, r, err));
        continue;
      }
      let size = (typeof value === 'string' ? Buffer.byteLength(value) : value.length) + (key === null ? 0 : typeof key === 'string' ? Buffer.byteLength(key) : key.length);
      let hasHeaders = false;
      // for…in, not Object.entries: this runs once per output record, most of which have no headers.
      for (const k in r.headers) {
        size += k.length + r.headers[k]!.length;
        hasHeaders = true;
      }
      if (size > max) {
        (rejected ??= []).push({
          error: { code: 'RECORD_TOO_LARGE', message: `the record is ${size} bytes, more than sink "${name}" may produce to topic "${topic}" (${max} bytes); shrink it upstream or raise the broker's max.message.bytes and the sink's maxRecordBytes`, operator: `sink:${name}` },
          position: r.position,
          key: r.key,
          timestamp: r.timestamp,
          value: r.value,
        });
        continue;
      }
      const out: OutRecord = { topic, key, value, timestamp: r.timestamp };
      if (hasHeaders) out.headers = r.headers;
      tx.produced.push(out);
    }
    return rejected;
  }

  const staging = orderedStaging(name, valueEnc, keyEnc, produce);
  return {
    name,
    stage: staging.stage,
    stageDeadLetters(dead: DeadLetter[], tx: Transaction) {
      for (const d of dead) {
        // Dead letters carry the original bytes; records that failed later carry their (JSON) value.
        let value: Buffer = d.rawBytes ?? (d.raw !== undefined ? Buffer.from(d.raw, 'utf8') : Buffer.from(JSON.stringify(d.value ?? {}), 'utf8'));
        const headers: Record<string, string> = {
          [DLQ_HEADERS.code]: d.error.code,
          [DLQ_HEADERS.message]: d.error.message,
          [DLQ_HEADERS.operator]: d.error.operator,
          [DLQ_HEADERS.source]: d.position.source,
          [DLQ_HEADERS.partition]: String(d.position.partition),
          [DLQ_HEADERS.offset]: String(d.position.offset),
          [DLQ_HEADERS.timestamp]: String(d.timestamp),
        };
        const srcTopic = o.topicOfSource?.(d.position.source);
        if (srcTopic) headers[DLQ_HEADERS.topic] = srcTopic;
        // A dead letter must never be refused for its size: keep the head of an oversized original and say so.
        if (value.length > max - 4096) {
          headers['sluice.value.truncated'] = String(value.length);
          value = value.subarray(0, max - 4096);
        }
        tx.produced.push({ topic, key: d.key, value, headers, timestamp: d.timestamp });
      }
    },
    close: staging.settled,
  };
}
