import type { KvWrite, OffsetCommit } from '../../../connectors/embedded/index.js';
import type { ColumnarBatch } from '../../core/columns.js';
import type { DeadLetter, StreamRecord } from '../../core/record.js';

export interface PositionWrite {
  offsets?: OffsetCommit[];
  kv?: KvWrite[];
}

export interface PollResult {
  /** Records, or one columnar batch from a columnar source. */
  records: StreamRecord[] | ColumnarBatch;
  /** Records that could not be decoded. */
  dead: DeadLetter[];
  /** The position just after this batch. */
  next: number;
  /** True when the source has nothing more (bounded and exhausted, or idle under --until-idle, or stopping). */
  end: boolean;
  /** With `end`: the input itself is exhausted (a bounded source or --until-idle), not a stop. */
  bounded?: boolean;
}

/** One partition of a source: the unit of parallelism, read by one task. */
export interface SourcePartition {
  readonly source: string;
  readonly partition: number;
  /** Returns the next micro-batch, waiting for data if the source is live. */
  poll(max: number, signal: AbortSignal): Promise<PollResult>;
  /** The writes that record "everything before `next` is done" in a checkpoint, or null if this source keeps no positions. */
  commitFor(next: number): PositionWrite | null;
  /** Progress for bounded sources: units done and total (rows, offsets or bytes), or null when unknown. */
  progress?(): { done: number; total: number; unit: string } | null;
  close(): Promise<void>;
}

export function decodeError(source: string, partition: number, offset: number, key: string | null, timestamp: number, raw: string, message: string, code = 'DECODE_ERROR'): DeadLetter {
  return { error: { code, message, operator: `source:${source}` }, position: { source, partition, offset }, key, timestamp, raw };
}

/** A dead letter for bytes (Avro) that did not decode: the original bytes travel with it (base64 in JSON envelopes). */
export function binaryDecodeError(source: string, partition: number, offset: number, key: string | null, timestamp: number, raw: Buffer, message: string, code = 'DECODE_ERROR'): DeadLetter {
  return { error: { code, message, operator: `source:${source}` }, position: { source, partition, offset }, key, timestamp, rawBytes: raw };
}
