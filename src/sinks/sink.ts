import type { ColumnarBatch } from '../core/columns.js';
import { toJson } from '../core/json.js';
import type { DeadLetter, StreamRecord } from '../core/record.js';
import type { Transaction } from './transaction.js';

/** The output stage of a topology. Sinks are shared by all tasks of a job. */
export interface Sink {
  readonly name: string;
  /**
   * Adds records to the checkpoint transaction (or writes them and registers a flush in it). Called in order per task.
   * Returns the records it cannot write (e.g. larger than Kafka accepts) as dead letters, or nothing.
   */
  stage(records: StreamRecord[], tx: Transaction): void | DeadLetter[];
  /** Writes dead letters in this sink's own form (Kafka: original bytes as value, the error in headers); default: stage() of envelopes. */
  stageDeadLetters?(dead: DeadLetter[], tx: Transaction): void;
  /** Stages a columnar batch without making records (sinks that write columns, e.g. Parquet). */
  stageColumns?(batch: ColumnarBatch, tx: Transaction): void;
  close(): Promise<void>;
}

/** The JSON text a record's value is written as. */
export function encodeValue(r: StreamRecord): string {
  return toJson(r.value) ?? 'null';
}
