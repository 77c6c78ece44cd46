/**
 * What the file readers share: the row/batch types they yield, option checks, and
 * the chunked byte reader (fs.createReadStream with a large highWaterMark) that maps
 * open errors onto SluiceError.
 */
import { createReadStream } from 'node:fs';
import { SluiceError } from '../../src/core/errors.js';

/** One row read from a file, or the reason it could not be read. `line` is the 1-based line where the row starts. */
export type RowResult =
  | { line: number; value: Record<string, unknown>; raw: string }
  | { line: number; error: SluiceError; raw: string };

export interface FileBatch {
  rows: RowResult[];
  /** Bytes consumed so far, for progress. */
  bytesRead: number;
}

/** Options both readers take. `chunkSize` and `maxRowBytes` are tuning knobs (tests use small ones). */
export interface ReadOptions {
  /** Rows per batch (the last batch may be shorter); an integer ≥ 1. */
  batchSize: number;
  /** Aborting stops the read: the iterator rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
  /** Skips the first N data rows (error rows count as rows; blank lines and the CSV header do not). */
  skipRows?: number | undefined;
  /** Bytes per read from the file; default 1 MiB. */
  chunkSize?: number | undefined;
  /**
   * A row longer than this (in bytes for JSONL, characters for CSV) becomes an error row
   * and is skipped up to its line end, so a missing newline or an unterminated quote
   * cannot pull the rest of a large file into memory. Default 64 MiB.
   */
  maxRowBytes?: number | undefined;
}

export const DEFAULT_CHUNK_SIZE = 1 << 20;
export const DEFAULT_MAX_ROW_BYTES = 64 << 20;
/** Raw text kept on an oversized-row error row. */
export const OVERSIZE_RAW_CHARS = 1024;

function positiveInt(name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new SluiceError('INVALID_INPUT', `${name} must be an integer ≥ ${min}, got ${String(v)}`);
  }
  return v;
}

export interface CheckedOptions {
  batchSize: number;
  skipRows: number;
  chunkSize: number;
  maxRowBytes: number;
  signal: AbortSignal | undefined;
}

export function checkOptions(opts: ReadOptions): CheckedOptions {
  return {
    batchSize: positiveInt('batchSize', opts.batchSize, 1),
    skipRows: positiveInt('skipRows', opts.skipRows ?? 0, 0),
    chunkSize: positiveInt('chunkSize', opts.chunkSize ?? DEFAULT_CHUNK_SIZE, 1),
    maxRowBytes: positiveInt('maxRowBytes', opts.maxRowBytes ?? DEFAULT_MAX_ROW_BYTES, 1),
    signal: opts.signal,
  };
}

/** Turns a file-open failure into a SluiceError that names the path (NOT_FOUND, a directory, permissions). */
export function mapOpenError(err: unknown, path: string): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return new SluiceError('NOT_FOUND', `file not found: ${path}`, { file: path }, { cause: err });
  if (code === 'EISDIR') return new SluiceError('INVALID_INPUT', `${path} is a directory, not a file`, { file: path }, { cause: err });
  if (code === 'EACCES' || code === 'EPERM') {
    return new SluiceError('INVALID_INPUT', `cannot read ${path}: permission denied`, { file: path }, { cause: err });
  }
  return err;
}

/** Yields the file's bytes in chunks of up to `chunkSize`. Breaking out of the loop closes the file. */
export async function* readChunks(path: string, chunkSize: number, signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
  signal?.throwIfAborted();
  const stream = createReadStream(path, signal ? { highWaterMark: chunkSize, signal } : { highWaterMark: chunkSize });
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw mapOpenError(err, path);
  }
}

/** A key like "__proto__" must become an own property, not the prototype. */
export function isUnsafeKey(key: string): boolean {
  return key === '__proto__';
}
