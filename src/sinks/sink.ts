import type { ColumnarBatch } from '../core/columns.js';
import { toJson } from '../core/json.js';
import type { StreamRecord } from '../core/record.js';
import type { Transaction } from './transaction.js';

/** The output stage of a topology. Sinks are shared by all tasks of a job. */
export interface Sink {
  readonly name: string;
  /** Adds records to the checkpoint transaction (or writes them and registers a flush in it). Called in order per task. */
  stage(records: StreamRecord[], tx: Transaction): void;
  /** Stages a columnar batch without making records (sinks that write columns, e.g. Parquet). */
  stageColumns?(batch: ColumnarBatch, tx: Transaction): void;
  close(): Promise<void>;
}

/** The JSON text a record's value is written as. */
export function encodeValue(r: StreamRecord): string {
  return toJson(r.value) ?? 'null';
}
