import type { EmbeddedLog } from '../../connectors/embedded/index.js';
import { toJson } from '../core/json.js';
import type { LogRecord, StreamRecord } from '../core/record.js';
import type { Sink } from './sink.js';
import type { Transaction } from './transaction.js';

/** Writes records to an embedded-log topic, partitioned by key, inside the checkpoint's atomic commit. */
export function createTopicSink(name: string, log: EmbeddedLog, topic: string): Sink {
  const info = log.requireTopic(topic);
  return {
    name,
    stage(records: StreamRecord[], tx: Transaction) {
      const parts: LogRecord[][] = Array.from({ length: info.partitions }, () => []);
      for (const r of records) {
        const rec: LogRecord = { key: r.key, value: toJson(r.value) ?? 'null', timestamp: r.timestamp };
        if (r.headers !== EMPTY && Object.keys(r.headers).length) rec.headers = r.headers;
        parts[info.partitions === 1 ? 0 : log.partitionFor(topic, r.key)]!.push(rec);
      }
      parts.forEach((recs, partition) => {
        if (recs.length) tx.appends.push({ topic, partition, records: recs });
      });
    },
    async close() {},
  };
}

/** Shared empty headers object, so records without headers allocate nothing. */
export const EMPTY: Record<string, string> = Object.freeze({}) as Record<string, string>;
