import type { EmbeddedLog } from '../../connectors/embedded/index.js';
import { jsonValueEncoder, type KeyEncoder, type ValueEncoder } from '../../connectors/serde/index.js';
import type { LogRecord, StreamRecord } from '../core/record.js';
import type { Sink } from './sink.js';
import type { Transaction } from './transaction.js';

/**
 * Writes records to an embedded-log topic, partitioned by key, inside the checkpoint's
 * atomic commit. Values go through the sink's encoder (JSON text by default; Avro bytes).
 * An encoder that must first resolve something (an Avro writer schema's id) does it in
 * the checkpoint's pending work, in order; once resolved, staging is synchronous again.
 */
export function createTopicSink(name: string, log: EmbeddedLog, topic: string, codecs?: { value: ValueEncoder; key?: KeyEncoder | undefined }): Sink {
  const info = log.requireTopic(topic);
  const value = codecs?.value ?? jsonValueEncoder;
  const keyEnc = codecs?.key;
  /** Staging still waiting for an encoder to resolve: later batches queue behind it, keeping order. */
  let waiting: Promise<void> | undefined;

  function append(records: StreamRecord[], tx: Transaction): void {
    const parts: LogRecord[][] = Array.from({ length: info.partitions }, () => []);
    for (const r of records) {
      const key = keyEnc ? keyEnc.encode(r.key) : r.key;
      const rec: LogRecord = { key, value: value.encode(r.value), timestamp: r.timestamp };
      if (r.headers !== EMPTY && Object.keys(r.headers).length) rec.headers = r.headers;
      parts[info.partitions === 1 ? 0 : log.partitionFor(topic, key)]!.push(rec);
    }
    parts.forEach((recs, partition) => {
      if (recs.length) tx.appends.push({ topic, partition, records: recs });
    });
  }

  return {
    name,
    stage(records: StreamRecord[], tx: Transaction) {
      if (!records.length) return;
      const pv = value.prepare?.(records.map((r) => r.value));
      const pk = keyEnc?.prepare?.(records.map((r) => r.key));
      if (!pv && !pk && !waiting) {
        append(records, tx);
        return;
      }
      const p = (waiting ?? Promise.resolve()).then(() => Promise.all([pv, pk])).then(() => append(records, tx));
      const mine = p.then(
        () => {
          if (waiting === mine) waiting = undefined;
        },
        () => {},
      );
      waiting = mine;
      tx.pending.push(p);
    },
    async close() {
      await waiting;
    },
  };
}

/** Shared empty headers object, so records without headers allocate nothing. */
export const EMPTY: Record<string, string> = Object.freeze({}) as Record<string, string>;
