/**
 * Streaming Parquet writer: rows (or column batches) are buffered per column until a
 * row group is full, then that group is encoded (encode.ts) and appended to the file;
 * close() writes the last group and the footer (hyparquet-writer's). So memory is one
 * row group, whatever the file's size.
 *
 * A batch is taken whole or not at all: a value of the wrong type throws INVALID_INPUT
 * naming the row (its index in the batch) and the column, and nothing of that batch is
 * kept, so the caller can set that row aside and write the rest again.
 */
import { mkdir, open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as zlib from 'node:zlib';
import { ByteWriter } from 'hyparquet-writer';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import { snappyCompressor } from 'hysnappy';
import type { ColumnType, ValueType } from '../../src/core/columns.js';
import { SluiceError } from '../../src/core/errors.js';
import { writeChunk, type RowGroup, type SchemaElement } from './encode.js';

/** What writeColumns takes: a ColumnBatch, or any batch of columns of the same shape (Float32Array too). */
export interface WritableColumns {
  rows: number;
  columns: Record<string, Float64Array | Float32Array | ArrayLike<unknown>>;
  nulls: Record<string, Uint8Array | undefined>;
  /** Declared types (from a typed source); a column without one gets the type of its values. Used by the first write only. */
  types?: Record<string, ColumnType | undefined>;
}

export type ParquetWriteType = ValueType;
export type ParquetCodec = 'SNAPPY' | 'GZIP' | 'ZSTD' | 'UNCOMPRESSED';

export interface ParquetWriterColumn {
  name: string;
  type: ParquetWriteType;
  /** Timestamps: an instant (adjusted to UTC, the default) or a local date-time (false). */
  utc?: boolean | undefined;
  /** Set when the type came from the batch's source (ColumnType), not from the caller: int64 then takes integral doubles past 2^53. */
  fromSource?: boolean | undefined;
}

export interface ParquetWriterOptions {
  /** Column names, order and types. Default: inferred from the first batch written. */
  columns?: ParquetWriterColumn[] | undefined;
  /** Rows per row group; default 100 000. */
  rowGroupSize?: number | undefined;
  /** Default SNAPPY. ZSTD needs a Node whose zlib has it (22.15+); Node 20 does not. */
  codec?: ParquetCodec | undefined;
}

export interface ParquetRowWriter {
  /** Buffers the rows (writing full row groups); all or none of them. Resolves once any full group is handed to the OS. */
  writeRows(rows: Record<string, unknown>[]): Promise<void>;
  /** Same as writeRows for a ColumnBatch; columns it lacks are null, extra ones ignored. */
  writeColumns(batch: WritableColumns): Promise<void>;
  /** Writes the last row group and the footer, and closes the file. Idempotent. */
  close(): Promise<void>;
  /** Rows accepted so far (in the file once close() resolves). */
  readonly rowsWritten: number;
}

export const DEFAULT_ROW_GROUP_SIZE = 100_000;

const SCHEMA: Record<ParquetWriteType, Omit<SchemaElement, 'name'>> = {
  DOUBLE: { type: 'DOUBLE' },
  FLOAT: { type: 'FLOAT' },
  INT64: { type: 'INT64' },
  INT32: { type: 'INT32' },
  STRING: { type: 'BYTE_ARRAY', converted_type: 'UTF8' },
  BOOLEAN: { type: 'BOOLEAN' },
  DATE: { type: 'INT32', converted_type: 'DATE', logical_type: { type: 'DATE' } },
  TIMESTAMP_MILLIS: { type: 'INT64', converted_type: 'TIMESTAMP_MILLIS' },
  TIMESTAMP_MICROS: { type: 'INT64', converted_type: 'TIMESTAMP_MICROS' },
  TIMESTAMP_NANOS: { type: 'INT64' },
  JSON: { type: 'BYTE_ARRAY', converted_type: 'JSON' },
};

const UNIT = { TIMESTAMP_MILLIS: 'MILLIS', TIMESTAMP_MICROS: 'MICROS', TIMESTAMP_NANOS: 'NANOS' } as const;

/** The schema element of a column. Timestamps carry the logical type, with its UTC flag; the legacy converted type only says UTC, so local ones go without. */
function schemaOf(c: ParquetWriterColumn): SchemaElement {
  const base = { name: c.name, ...SCHEMA[c.type], repetition_type: 'OPTIONAL' as const };
  if (c.type !== 'TIMESTAMP_MILLIS' && c.type !== 'TIMESTAMP_MICROS' && c.type !== 'TIMESTAMP_NANOS') return base;
  const utc = c.utc ?? true;
  const { converted_type: _legacy, ...rest } = base;
  const logical_type = { type: 'TIMESTAMP' as const, isAdjustedToUTC: utc, unit: UNIT[c.type] };
  return (utc && c.type !== 'TIMESTAMP_NANOS' ? { ...base, logical_type } : { ...rest, logical_type }) as SchemaElement;
}

function isTime(t: ParquetWriteType): boolean {
  return t === 'DATE' || t === 'TIMESTAMP_MILLIS' || t === 'TIMESTAMP_MICROS' || t === 'TIMESTAMP_NANOS';
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function kindOf(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v instanceof Date) return 'Date';
  return typeof v;
}

/** Why v does not fit the column type, as "expects INT64, got string \"x\"". */
function mismatch(type: ParquetWriteType, v: unknown, why?: string): string {
  const shown = typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v) : typeof v === 'object' ? '' : String(v);
  return `expects ${type}, got ${why ?? kindOf(v)} ${shown}`.trimEnd();
}

/**
 * One column's pending values, growable past the row-group size so a batch can be
 * appended whole and rolled back (truncate) if a later row is bad.
 */
class ColumnBuffer {
  length = 0;
  num: Float64Array;
  big: BigInt64Array | undefined;
  arr: unknown[] | undefined;
  isNull: Uint8Array;

  constructor(readonly spec: ParquetWriterColumn, capacity: number) {
    const t = spec.type;
    this.num = new Float64Array(t === 'DOUBLE' || t === 'FLOAT' || t === 'INT32' || isTime(t) ? capacity : 0);
    if (t === 'INT64') this.big = new BigInt64Array(capacity);
    if (t === 'STRING' || t === 'BOOLEAN' || t === 'JSON') this.arr = [];
    this.isNull = new Uint8Array(capacity);
  }

  reserve(n: number): void {
    const need = this.length + n;
    if (need <= this.isNull.length) return;
    const cap = Math.max(need, this.isNull.length * 2);
    const grow = <T extends Float64Array | BigInt64Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      if (a.length === 0 && a !== this.isNull) return a;
      const b = make(cap);
      b.set(a as never);
      return b;
    };
    this.num = grow(this.num, (c) => new Float64Array(c));
    if (this.big) this.big = grow(this.big, (c) => new BigInt64Array(c));
    this.isNull = grow(this.isNull, (c) => new Uint8Array(c));
  }

  /** Stores v at index i (within reserved capacity) converted to the column type; returns why not if it does not fit. */
  put(i: number, v: unknown): string | undefined {
    if (v === null || v === undefined) {
      this.isNull[i] = 1;
      if (this.arr) this.arr[i] = null;
      return undefined;
    }
    this.isNull[i] = 0;
    const t = this.spec.type;
    switch (t) {
      case 'DOUBLE':
      case 'FLOAT':
        if (typeof v === 'number') this.num[i] = v;
        else if (typeof v === 'bigint') this.num[i] = Number(v);
        else return mismatch(t, v);
        return undefined;
      case 'INT32': {
        const n = typeof v === 'bigint' ? Number(v) : v;
        if (typeof n !== 'number') return mismatch(t, v);
        if (!Number.isInteger(n) || n < -2147483648 || n > 2147483647) return mismatch(t, v, 'out-of-range or non-integer');
        this.num[i] = n;
        return undefined;
      }
      case 'INT64': {
        let b: bigint;
        if (typeof v === 'bigint') b = v;
        else if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
        // A column declared int64 by its source was read as doubles: past 2^53 the value is
        // already rounded, and writing it back as int64 keeps the type without losing more.
        else if (typeof v === 'number' && this.spec.fromSource && Number.isInteger(v)) b = BigInt(v);
        else if (typeof v === 'number') return mismatch(t, v, 'non-integer or unsafe number');
        else return mismatch(t, v);
        if (b < INT64_MIN || b > INT64_MAX) return mismatch(t, v, 'out-of-range');
        this.big![i] = b;
        return undefined;
      }
      case 'DATE':
      case 'TIMESTAMP_MILLIS':
      case 'TIMESTAMP_MICROS':
      case 'TIMESTAMP_NANOS': {
        // Epoch milliseconds (what the reader hands out); MILLIS floors sub-millisecond parts.
        const n = v instanceof Date ? v.getTime() : typeof v === 'bigint' ? Number(v) : v;
        if (typeof n !== 'number') return mismatch(t, v);
        if (!Number.isFinite(n)) return mismatch(t, v, 'invalid time');
        this.num[i] = t === 'TIMESTAMP_MILLIS' ? Math.floor(n) : n;
        return undefined;
      }
      case 'STRING':
        if (typeof v !== 'string') return mismatch(t, v);
        this.arr![i] = v;
        return undefined;
      case 'BOOLEAN':
        if (typeof v !== 'boolean') return mismatch(t, v);
        this.arr![i] = v;
        return undefined;
      case 'JSON':
        if (typeof v === 'function' || typeof v === 'symbol' || typeof v === 'bigint') return mismatch(t, v);
        this.arr![i] = v;
        return undefined;
    }
  }

  /** Fast path for float batch columns into DOUBLE/FLOAT: copies the whole array (and its null mask). */
  putFloats(at: number, src: Float64Array | Float32Array, mask: Uint8Array | undefined): boolean {
    // Times are epoch ms in both; the encoder converts to the unit (and floors MILLIS there).
    if (this.spec.type !== 'DOUBLE' && this.spec.type !== 'FLOAT' && this.spec.type !== 'TIMESTAMP_MICROS' && this.spec.type !== 'TIMESTAMP_NANOS' && this.spec.type !== 'DATE') return false;
    this.num.set(src, at);
    if (mask) this.isNull.set(mask.subarray(0, src.length), at);
    else this.isNull.fill(0, at, at + src.length);
    return true;
  }

  /** Drops the first `count` values (written out). */
  shift(count: number): void {
    const rest = this.length - count;
    this.num.copyWithin(0, count, this.length);
    this.big?.copyWithin(0, count, this.length);
    this.isNull.copyWithin(0, count, this.length);
    if (this.arr) this.arr.splice(0, count);
    this.length = rest;
  }

  truncate(length: number): void {
    this.length = length;
    if (this.arr) this.arr.length = length;
  }
}

interface Bad {
  row: number;
  column: string;
  why: string;
}

function inferType(v: unknown): ParquetWriteType | undefined {
  if (typeof v === 'number') return 'DOUBLE';
  if (typeof v === 'bigint') return 'INT64';
  if (typeof v === 'string') return 'STRING';
  if (typeof v === 'boolean') return 'BOOLEAN';
  if (v instanceof Date) return 'TIMESTAMP_MILLIS';
  if (typeof v === 'object' && v !== null) return 'JSON';
  return undefined;
}

/** Appends to a FileHandle: hyparquet-writer encodes a row group into memory, flush() hands it to the OS. */
class FileByteWriter extends ByteWriter {
  constructor(private readonly fh: FileHandle) {
    super(1 << 20);
  }

  async flush(): Promise<void> {
    let done = 0;
    const bytes = new Uint8Array(this.buffer, 0, this.index);
    while (done < bytes.length) done += (await this.fh.write(bytes, done, bytes.length - done)).bytesWritten;
    this.index = 0;
  }

  override finish(): Promise<void> {
    return this.flush();
  }
}

const MAGIC = 0x31524150; // 'PAR1'

function compressorFor(codec: ParquetCodec): ((input: Uint8Array) => Uint8Array) | undefined {
  if (codec === 'GZIP') return (b) => zlib.gzipSync(b);
  if (codec === 'ZSTD') {
    const z = (zlib as unknown as { zstdCompressSync?: (b: Uint8Array) => Uint8Array }).zstdCompressSync;
    if (!z) throw new SluiceError('INVALID_INPUT', `codec ZSTD needs Node ≥ 22.15 (zlib zstd); this is ${process.version}. Use SNAPPY or GZIP`);
    return (b) => z(b);
  }
  // hyparquet-writer's own snappy is plain JS; hysnappy's WebAssembly one is ~3× faster.
  if (codec === 'SNAPPY') return snappyCompressor();
  return undefined;
}

class Writer implements ParquetRowWriter {
  private cols: ColumnBuffer[] | undefined;
  private schema: SchemaElement[] | undefined;
  private readonly groups: RowGroup[] = [];
  private readonly compress: ((input: Uint8Array) => Uint8Array) | undefined;
  private readonly sink: FileByteWriter;
  private accepted = 0;
  private closed = false;
  private queue: Promise<void> = Promise.resolve();
  private closing: Promise<void> | undefined;

  constructor(
    private readonly path: string,
    private readonly fh: FileHandle,
    columns: ParquetWriterColumn[] | undefined,
    private readonly rowGroupSize: number,
    private readonly codec: ParquetCodec,
  ) {
    this.sink = new FileByteWriter(fh);
    this.compress = compressorFor(codec);
    if (columns) this.start(columns);
  }

  get rowsWritten(): number {
    return this.accepted;
  }

  private start(columns: ParquetWriterColumn[]): ColumnBuffer[] {
    this.cols = columns.map((c) => new ColumnBuffer(c, Math.min(this.rowGroupSize, 1 << 16)));
    this.schema = [
      { name: 'root', num_children: columns.length },
      ...columns.map(schemaOf),
    ];
    this.sink.appendUint32(MAGIC);
    return this.cols;
  }

  private error(msg: string, context: Record<string, unknown> = {}): SluiceError {
    return new SluiceError('INVALID_INPUT', `${this.path}: ${msg}`, { file: this.path, ...context });
  }

  /** Runs writes one after another even if the caller does not await each. */
  private enqueue(op: () => Promise<void>): Promise<void> {
    const run = this.queue.then(() => {
      if (this.closed) throw this.error('writer is closed');
      return op();
    });
    this.queue = run.catch(() => {});
    return run;
  }

  writeRows(rows: Record<string, unknown>[]): Promise<void> {
    return this.enqueue(async () => {
      if (rows.length === 0) return;
      const notObject = rows.findIndex((r) => r === null || typeof r !== 'object' || Array.isArray(r));
      if (notObject !== -1) throw this.error(`row ${notObject}: not an object`, { row: notObject, rows: [notObject] });
      const cols = this.cols ?? this.inferFromRows(rows);
      this.append(rows.length, cols, (col, base, bad) => {
        const name = col.spec.name;
        for (let i = 0; i < rows.length; i++) {
          const why = col.put(base + i, rows[i]![name]);
          if (why !== undefined) bad.push({ row: i, column: name, why });
        }
      });
      await this.flushFull();
    });
  }

  writeColumns(batch: WritableColumns): Promise<void> {
    return this.enqueue(async () => {
      if (batch.rows === 0) return;
      const cols = this.cols ?? this.inferFromColumns(batch);
      this.append(batch.rows, cols, (col, base, bad) => {
        const name = col.spec.name;
        const src = batch.columns[name];
        const mask = batch.nulls[name];
        if ((src instanceof Float64Array || src instanceof Float32Array) && src.length >= batch.rows && col.putFloats(base, src.subarray(0, batch.rows), mask)) return;
        for (let i = 0; i < batch.rows; i++) {
          const why = col.put(base + i, src === undefined || mask?.[i] === 1 ? null : src[i]);
          if (why !== undefined) bad.push({ row: i, column: name, why });
        }
      });
      await this.flushFull();
    });
  }

  /**
   * Appends n rows to every column, or none: if any value does not fit, all columns
   * roll back and the error names the first bad row; context.rows lists every bad
   * row of the batch, so the caller can set them all aside at once.
   */
  private append(n: number, cols: ColumnBuffer[], fill: (col: ColumnBuffer, base: number, bad: Bad[]) => void): void {
    const base = cols[0]?.length ?? 0;
    const bad: Bad[] = [];
    for (const col of cols) {
      col.reserve(n);
      fill(col, base, bad);
      col.length = base + n;
    }
    if (bad.length > 0) {
      for (const col of cols) col.truncate(base);
      bad.sort((a, b) => a.row - b.row);
      const first = bad[0]!;
      const rows = [...new Set(bad.map((b) => b.row))];
      const more = rows.length > 1 ? ` (${rows.length} bad rows in this batch)` : '';
      throw this.error(`row ${first.row}: column "${first.column}" ${first.why}${more}`, { row: first.row, column: first.column, rows });
    }
    this.accepted += n;
  }

  private inferFromRows(rows: Record<string, unknown>[]): ColumnBuffer[] {
    const types = new Map<string, ParquetWriteType | undefined>();
    for (const row of rows) {
      if (row === null || typeof row !== 'object') continue;
      for (const [k, v] of Object.entries(row)) if (types.get(k) === undefined) types.set(k, inferType(v));
    }
    return this.startInferred(types, rows.length);
  }

  private inferFromColumns(batch: WritableColumns): ColumnBuffer[] {
    const types = new Map<string, ParquetWriteType | undefined>();
    const utc = new Map<string, boolean>();
    const fromSource = new Set<string>();
    for (const [name, col] of Object.entries(batch.columns)) {
      const declared = batch.types?.[name];
      if (declared) {
        types.set(name, declared.type);
        fromSource.add(name);
        if (declared.utc !== undefined) utc.set(name, declared.utc);
        continue;
      }
      const mask = batch.nulls[name];
      let t: ParquetWriteType | undefined;
      if (col instanceof Float64Array || col instanceof Float32Array) t = !mask || mask.indexOf(0) !== -1 ? 'DOUBLE' : undefined;
      else for (let i = 0; i < batch.rows && t === undefined; i++) t = mask?.[i] === 1 ? undefined : inferType(col[i]);
      types.set(name, t);
    }
    return this.startInferred(types, batch.rows, utc, fromSource);
  }

  private startInferred(types: Map<string, ParquetWriteType | undefined>, rows: number, utc = new Map<string, boolean>(), declared = new Set<string>()): ColumnBuffer[] {
    const columns: ParquetWriterColumn[] = [];
    for (const [name, type] of types) {
      if (!type) throw this.error(`cannot infer the type of column "${name}": it has no usable value in the first ${rows} rows (only nulls, or a function/symbol/undefined); pass columns to createParquetWriter`, { column: name });
      columns.push({ name, type, ...(utc.has(name) ? { utc: utc.get(name) } : {}), ...(declared.has(name) ? { fromSource: true } : {}) });
    }
    if (columns.length === 0) throw this.error('cannot infer columns: the first rows have no fields; pass columns to createParquetWriter');
    return this.start(columns);
  }

  private async flushFull(): Promise<void> {
    while (this.cols && (this.cols[0]?.length ?? 0) >= this.rowGroupSize) await this.writeGroup(this.rowGroupSize);
  }

  private async writeGroup(count: number): Promise<void> {
    const cols = this.cols!;
    const start = this.sink.offset;
    try {
      const columns = cols.map((c) => writeChunk(this.sink, { name: c.spec.name, type: c.spec.type, count, isNull: c.isNull, num: c.num, big: c.big, arr: c.arr }, this.codec, this.compress));
      let bytes = 0n;
      for (const c of columns) bytes += c.meta_data!.total_uncompressed_size;
      this.groups.push({ columns, num_rows: BigInt(count), total_byte_size: bytes, total_compressed_size: BigInt(this.sink.offset - start) });
      await this.sink.flush();
    } catch (err) {
      throw this.failed(err);
    }
    for (const c of cols) c.shift(count);
  }

  /** File system failures are STORAGE_ERROR (retriable); anything else from the encoder is a bug. */
  private failed(err: unknown): SluiceError {
    if (err instanceof SluiceError) return err;
    const msg = err instanceof Error ? err.message : String(err);
    const io = typeof (err as { code?: unknown } | null)?.code === 'string';
    return new SluiceError(io ? 'STORAGE_ERROR' : 'INTERNAL', `${this.path}: ${io ? 'write failed' : 'Parquet encoding failed'}: ${msg}`, { file: this.path }, { cause: err });
  }

  close(): Promise<void> {
    this.closing ??= this.queue.then(async () => {
      this.closed = true;
      try {
        // No rows and no declared columns: a valid file with an empty schema.
        if (!this.schema) this.start([]);
        const rest = this.cols?.[0]?.length ?? 0;
        if (rest > 0) await this.writeGroup(rest);
        try {
          const rows = this.groups.reduce((n, g) => n + g.num_rows, 0n);
          writeMetadata(this.sink, { version: 2, created_by: 'sluice', schema: this.schema!, num_rows: rows, row_groups: this.groups, metadata_length: 0 }); // metadata_length is not written
          this.sink.appendUint32(MAGIC);
          await this.sink.flush();
        } catch (err) {
          throw this.failed(err);
        }
      } finally {
        await this.fh.close();
      }
    });
    return this.closing;
  }
}

function checkColumns(path: string, columns: unknown): ParquetWriterColumn[] | undefined {
  if (columns === undefined) return undefined;
  const ok = Array.isArray(columns) && columns.every((c) => c && typeof c.name === 'string' && c.name !== '' && Object.hasOwn(SCHEMA, c.type));
  if (!ok) throw new SluiceError('INVALID_INPUT', `${path}: columns must be [{ name, type }] with type one of ${Object.keys(SCHEMA).join(', ')}`, { file: path });
  const names = (columns as ParquetWriterColumn[]).map((c) => c.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new SluiceError('INVALID_INPUT', `${path}: column "${dup}" is declared twice`, { file: path });
  return columns as ParquetWriterColumn[];
}

/** Creates (or truncates) the file at exactly `path`; the caller handles temporary names. */
export async function createParquetWriter(path: string, opts: ParquetWriterOptions = {}): Promise<ParquetRowWriter> {
  const columns = checkColumns(path, opts.columns);
  const rowGroupSize = opts.rowGroupSize ?? DEFAULT_ROW_GROUP_SIZE;
  if (!Number.isInteger(rowGroupSize) || rowGroupSize < 1) throw new SluiceError('INVALID_INPUT', `rowGroupSize must be an integer ≥ 1, got ${String(rowGroupSize)}`);
  const codec = opts.codec ?? 'SNAPPY';
  if (!['SNAPPY', 'GZIP', 'ZSTD', 'UNCOMPRESSED'].includes(codec)) throw new SluiceError('INVALID_INPUT', `codec must be SNAPPY, GZIP, ZSTD or UNCOMPRESSED, got ${String(codec)}`);
  compressorFor(codec); // fail before creating the file
  let fh: FileHandle;
  try {
    await mkdir(dirname(path), { recursive: true });
    fh = await open(path, 'w');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const msg = err instanceof Error ? err.message : String(err);
    if (code === 'ENOENT') throw new SluiceError('NOT_FOUND', `cannot create ${path}: ${msg}`, { file: path }, { cause: err });
    if (code === 'EACCES' || code === 'EPERM' || code === 'EISDIR' || code === 'ENOTDIR') throw new SluiceError('INVALID_INPUT', `cannot create ${path}: ${msg}`, { file: path }, { cause: err });
    throw new SluiceError('STORAGE_ERROR', `cannot create ${path}: ${msg}`, { file: path }, { cause: err });
  }
  return new Writer(path, fh, columns, rowGroupSize, codec);
}
