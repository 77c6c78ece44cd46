import type { EmbeddedLog } from '../../connectors/embedded/index.js';
import type { LogRecord, StreamRecord } from '../core/record.js';
import type { Sink } from './sink.js';
import type { Transaction } from './transaction.js';

/** The header naming the upstream path of a record in a repartition topic (stripped when read back). */
export const UPSTREAM_HEADER = 'sluice-upstream';

/**
 * Writes keyed records to an internal repartition topic, partitioned by key with the
 * log's partitioner, inside the writing task's checkpoint (one atomic commit with that
 * task's source positions). Key, timestamp, value and headers travel as they are; the
 * record's path is added as a header so the reading side can keep one watermark per
 * upstream: the writing task's name, after the path the record came by when it has
 * crossed a hop already ("in-0>t-a-repartition-2"). Records on one path keep the order
 * they were read in; records of one task that came by different paths do not.
 */
export function createRepartitionSink(name: string, log: EmbeddedLog, topic: string): Sink {
  const partitions = log.requireTopic(topic).partitions;
  return {
    name,
    stage(records: StreamRecord[], tx: Transaction) {
      const parts: LogRecord[][] = Array.from({ length: partitions }, () => []);
      for (const r of records) {
        const origin = r.origin === undefined ? tx.task : `${r.origin}>${tx.task}`;
        const rec: LogRecord = { key: r.key, value: JSON.stringify(r.value), timestamp: r.timestamp, headers: { ...r.headers, [UPSTREAM_HEADER]: origin } };
        parts[partitions === 1 ? 0 : log.partitionFor(topic, r.key)]!.push(rec);
      }
      parts.forEach((recs, partition) => {
        if (recs.length) tx.appends.push({ topic, partition, records: recs });
      });
    },
    async close() {},
  };
}
