import type { EmbeddedLog } from '../../connectors/embedded/index.js';
import { jsonValueEncoder, type KeyEncoder, type ValueEncoder } from '../../connectors/serde/index.js';
import { SluiceError } from '../core/errors.js';
import type { DeadLetter, LogRecord, StreamRecord } from '../core/record.js';
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

  function append(records: StreamRecord[], tx: Transaction): DeadLetter[] | undefined {
    const parts: LogRecord[][] = Array.from({ length: info.partitions }, () => []);
    let rejected: DeadLetter[] | undefined;
    for (const r of records) {
      let key: string | Buffer | null;
      let encoded: string | Buffer;
      try {
        key = keyEnc ? keyEnc.encode(r.key) : r.key;
        encoded = value.encode(r.value);
      } catch (err) {
        // A value that does not fit the sink's Avro schema is a bad record, not a broken job.
        (rejected ??= []).push(encodeRejection(name, r, err));
        continue;
      }
      const rec: LogRecord = { key, value: encoded, timestamp: r.timestamp };
      if (r.headers !== EMPTY && Object.keys(r.headers).length) rec.headers = r.headers;
      parts[info.partitions === 1 ? 0 : log.partitionFor(topic, key)]!.push(rec);
    }
    parts.forEach((recs, partition) => {
      if (recs.length) tx.appends.push({ topic, partition, records: recs });
    });
    return rejected;
  }

  const staging = orderedStaging(name, value, keyEnc, append);
  return {
    name,
    stage: staging.stage,
    close: staging.settled,
  };
}

/**
 * Staging through encoders that may first have to resolve something (an Avro writer schema's
 * id). While one resolves, batches queue in the checkpoint's pending work, in order; once
 * resolved, staging is synchronous again and rejections go back to the caller as dead letters.
 */
export function orderedStaging(name: string, value: ValueEncoder, key: KeyEncoder | undefined, write: (records: StreamRecord[], tx: Transaction) => DeadLetter[] | undefined) {
  /** Staging still waiting for an encoder to resolve: later batches queue behind it, keeping order. */
  let waiting: Promise<void> | undefined;
  return {
    stage(records: StreamRecord[], tx: Transaction): void | DeadLetter[] {
      if (!records.length) return;
      const pv = value.prepare?.(records.map((r) => r.value));
      const pk = key?.prepare?.(records.map((r) => r.key));
      if (!pv && !pk && !waiting) return write(records, tx);
      // The first batch of a derived Avro schema (the schema is derived from it, so its records fit it):
      // register first. Rejections can no longer be handed back here, so one fails the checkpoint.
      const p = (waiting ?? Promise.resolve()).then(() => Promise.all([pv, pk])).then(() => {
        const rejected = write(records, tx);
        if (rejected) throw new SluiceError('INVALID_INPUT', `${rejected[0]!.error.message} (in the first batch, while sink "${name}" was registering its schema)`);
      });
      const mine = p.then(
        () => {
          if (waiting === mine) waiting = undefined;
        },
        () => {},
      );
      waiting = mine;
      tx.pending.push(p);
    },
    /** Resolves once no staging waits for an encoder. */
    async settled(): Promise<void> {
      await waiting;
    },
  };
}

/** Shared empty headers object, so records without headers allocate nothing. */
export const EMPTY: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** The dead letter of a record a sink could not encode (it does not fit the sink's Avro schema). */
export function encodeRejection(sink: string, r: StreamRecord, err: unknown): DeadLetter {
  const e = err as { code?: string; message?: string };
  return { error: { code: e.code ?? 'INVALID_INPUT', message: e.message ?? String(err), operator: `sink:${sink}` }, position: r.position, key: r.key, timestamp: r.timestamp, value: r.value };
}
