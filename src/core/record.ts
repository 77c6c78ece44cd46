/** Where a record came from: enough to seek back to it and to name it in a dead letter. */
export interface SourcePosition {
  source: string;
  partition: number;
  offset: number;
}

/**
 * The unit that flows through a topology. Records always move in arrays
 * (micro-batches); no stage handles one record per promise.
 */
export interface StreamRecord {
  key: string | null;
  value: Record<string, unknown>;
  /** Event time in epoch milliseconds. */
  timestamp: number;
  headers: Record<string, string>;
  position: SourcePosition;
  /** The original bytes/text, kept for dead letters. */
  raw?: string;
  /**
   * After a repartition hop: the path the record came by, the tasks that wrote it to each hop
   * ("in-0", or "in-0>t-a-repartition-2" after two). Records on one path keep their order, so
   * event-time steps keep one watermark per path and take the minimum. Absent otherwise.
   */
  origin?: string;
}

/**
 * A record as stored in a log (embedded or Kafka): bytes-level, no parsed value. Text for
 * JSON topics; bytes (a Buffer) for binary formats such as Avro on the Confluent wire format.
 */
export interface LogRecord {
  key: string | Buffer | null;
  value: string | Buffer;
  timestamp: number;
  headers?: Record<string, string>;
}

export interface StoredLogRecord extends LogRecord {
  offset: number;
}

/** The envelope written to a dead-letter destination. */
export interface DeadLetter {
  error: { code: string; message: string; operator: string };
  position: SourcePosition;
  key: string | null;
  timestamp: number;
  /** The record as it was when it failed (parsed value), or the raw text if it never parsed. */
  value?: Record<string, unknown>;
  raw?: string;
  /**
   * The original bytes when the source had bytes that did not decode (Kafka, Avro), so a
   * dead-letter topic can carry them unchanged; JSON envelopes show them as `rawBase64`.
   */
  rawBytes?: Buffer;
}
