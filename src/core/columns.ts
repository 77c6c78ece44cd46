import type { SourcePosition, StreamRecord } from './record.js';

/** A column: numbers in a typed array (nulls in a mask), or any values in a plain array (null for null). */
export type Column = Float64Array | Float32Array | unknown[];

/** A stored value type, as a columnar file declares it (the names are Parquet's). */
export type ValueType = 'DOUBLE' | 'FLOAT' | 'INT64' | 'INT32' | 'STRING' | 'BOOLEAN' | 'DATE' | 'TIMESTAMP_MILLIS' | 'TIMESTAMP_MICROS' | 'TIMESTAMP_NANOS' | 'JSON';

/**
 * A column's declared type, carried from a typed source (Parquet) to sinks that store
 * types, so int64 stays int64 and a timestamp a timestamp even though operators see
 * plain numbers (epoch milliseconds for times). A step that replaces the column drops it.
 */
export interface ColumnType {
  type: ValueType;
  /** Timestamps: adjusted to UTC (an instant), or a local date-time. Default true. */
  utc?: boolean;
}

/**
 * A micro-batch held as columns, as a columnar source (Parquet) reads it. Operators
 * that can work on columns (map with expressions, filter, score, sinks) do so without
 * making one object per row; any other step turns the batch into records first.
 */
export class ColumnarBatch {
  constructor(
    readonly rows: number,
    readonly columns: Map<string, Column>,
    /** 1 marks a null in a typed-array column. */
    readonly nulls: Map<string, Uint8Array>,
    readonly source: string,
    readonly partition: number,
    /** The source offset of each row. */
    readonly offsets: Float64Array,
    readonly timestamp: number,
    /** Record keys (set by keyBy on columns); null means no keys. */
    public keys: (string | null)[] | null = null,
    /** Declared types of the columns that still hold what the source read (see ColumnType). */
    readonly types: Map<string, ColumnType> = new Map(),
  ) {}

  /** The value at row i of a column: a number, or null where the null mask says so. */
  value(name: string, i: number): unknown {
    const col = this.columns.get(name);
    if (!col) return null;
    if (Array.isArray(col)) return col[i] ?? null;
    const mask = this.nulls.get(name);
    return mask && mask[i] ? null : col[i];
  }

  /** Sets (or replaces) a column; its type is then that of its values, unless `type` says otherwise. */
  setColumn(name: string, col: Column, mask?: Uint8Array, type?: ColumnType): void {
    this.columns.set(name, col);
    if (mask) this.nulls.set(name, mask);
    else this.nulls.delete(name);
    if (type) this.types.set(name, type);
    else this.types.delete(name);
  }

  dropColumn(name: string): void {
    this.columns.delete(name);
    this.nulls.delete(name);
    this.types.delete(name);
  }

  /** Keeps only `names` (those present), in that order: the order sinks write them. */
  keepColumns(names: readonly string[]): void {
    const kept = names.filter((n) => this.columns.has(n)).map((n) => [n, this.columns.get(n)!] as const);
    this.columns.clear();
    for (const [n, c] of kept) this.columns.set(n, c);
    for (const n of [...this.nulls.keys()]) if (!this.columns.has(n)) this.nulls.delete(n);
    for (const n of [...this.types.keys()]) if (!this.columns.has(n)) this.types.delete(n);
  }

  position(i: number): SourcePosition {
    return { source: this.source, partition: this.partition, offset: this.offsets[i]! };
  }

  rowValue(i: number): Record<string, unknown> {
    const v: Record<string, unknown> = {};
    for (const name of this.columns.keys()) v[name] = this.value(name, i);
    return v;
  }

  record(i: number): StreamRecord {
    return { key: this.keys?.[i] ?? null, value: this.rowValue(i), timestamp: this.timestamp, headers: {}, position: this.position(i) };
  }

  toRecords(): StreamRecord[] {
    const out: StreamRecord[] = new Array(this.rows);
    for (let i = 0; i < this.rows; i++) out[i] = this.record(i);
    return out;
  }

  /** Rows [start, end) as a batch of their own (copies, so steps may change either freely). */
  range(start: number, end: number): ColumnarBatch {
    if (start === 0 && end >= this.rows) return this;
    const columns = new Map<string, Column>();
    const nulls = new Map<string, Uint8Array>();
    for (const [name, col] of this.columns) columns.set(name, col.slice(start, end));
    for (const [name, mask] of this.nulls) nulls.set(name, mask.slice(start, end));
    return new ColumnarBatch(end - start, columns, nulls, this.source, this.partition, this.offsets.slice(start, end), this.timestamp, this.keys ? this.keys.slice(start, end) : null, new Map(this.types));
  }

  /** A batch of the rows where keep[i] is 1 (the same batch when all are kept). */
  select(keep: Uint8Array): ColumnarBatch {
    let n = 0;
    for (let i = 0; i < this.rows; i++) n += keep[i]!;
    if (n === this.rows) return this;
    const columns = new Map<string, Column>();
    const nulls = new Map<string, Uint8Array>();
    for (const [name, col] of this.columns) columns.set(name, pick(col, keep, n));
    for (const [name, mask] of this.nulls) nulls.set(name, pick(mask, keep, n) as Uint8Array);
    return new ColumnarBatch(n, columns, nulls, this.source, this.partition, pick(this.offsets, keep, n) as Float64Array, this.timestamp, this.keys ? (pick(this.keys, keep, n) as (string | null)[]) : null, new Map(this.types));
  }
}

function pick<T extends Column | Uint8Array>(col: T, keep: Uint8Array, n: number): T {
  const out = (Array.isArray(col) ? new Array(n) : new (col.constructor as new (n: number) => Float64Array)(n)) as unknown as { [i: number]: unknown };
  let j = 0;
  for (let i = 0; i < keep.length; i++) if (keep[i]) out[j++] = (col as ArrayLike<unknown>)[i];
  return out as T;
}

export function isColumnar(b: StreamRecord[] | ColumnarBatch): b is ColumnarBatch {
  return b instanceof ColumnarBatch;
}
