import type { ColumnarBatch } from '../core/columns.js';
import type { DeadLetter, StreamRecord } from '../core/record.js';
import type { StateWrite } from '../state/index.js';

export type Chunk = StreamRecord[] | ColumnarBatch;

export function chunkRows(c: Chunk): number {
  return Array.isArray(c) ? c.length : c.rows;
}

/** What one source micro-batch became after the operator chain: chunks of records per sink, and dead letters. */
export class BatchOutput {
  readonly bySink = new Map<string, Chunk[]>();
  readonly dead: DeadLetter[] = [];
  /** State changes made by stateful steps while processing this batch; committed with it. */
  readonly state: StateWrite[] = [];
  /** Run once this batch's checkpoint has committed. */
  readonly afterCommit: (() => void)[] = [];

  emit(sink: string, chunk: Chunk): void {
    if (!chunkRows(chunk)) return;
    const list = this.bySink.get(sink);
    if (list) list.push(chunk);
    else this.bySink.set(sink, [chunk]);
  }
}

export function toDeadLetter(record: StreamRecord, code: string, message: string, operator: string): DeadLetter {
  const dl: DeadLetter = { error: { code, message, operator }, position: record.position, key: record.key, timestamp: record.timestamp };
  if (record.raw !== undefined) dl.raw = record.raw;
  else dl.value = record.value;
  return dl;
}
