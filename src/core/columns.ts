import type { SourcePosition, StreamRecord } from './record.js';

/** A column: numbers in a typed array (nulls in a mask), or any values in a plain array (null for null). */
export type Column = Float64Array | Float32Array | unknown[];

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
  ) {}

  /** The value at row i of a column: a number, or null where the null mask says so. */
  value(name: string, i: number): unknown {
    const col = this.columns.get(name);
    if (!col) return null;
    if (Array.isArray(col)) return col[i] ?? null;
    const mask = this.nulls.get(name);
    return mask && mask[i] ? null : col[i];
  }

  setColumn(name: string, col: Column, mask?: Uint8Array): void {
    this.columns.set(name, col);
    if (mask) this.nulls.set(name, mask);
    else this.nulls.delete(name);
  }

  dropColumn(name: string): void {
    this.columns.delete(name);
    this.nulls.delete(name);
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

  /** A batch of the rows where keep[i] is 1 (the same batch when all are kept). */
  select(keep: Uint8Array): ColumnarBatch {
    let n = 0;
    for (let i = 0; i < this.rows; i++) n += keep[i]!;
    if (n === this.rows) return this;
    const columns = new Map<string, Column>();
    const nulls = new Map<string, Uint8Array>();
    for (const [name, col] of this.columns) columns.set(name, pick(col, keep, n));
    for (const [name, mask] of this.nulls) nulls.set(name, pick(mask, keep, n) as Uint8Array);
    return new ColumnarBatch(n, columns, nulls, this.source, this.partition, pick(this.offsets, keep, n) as Float64Array, this.timestamp, this.keys ? (pick(this.keys, keep, n) as (string | null)[]) : null);
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
