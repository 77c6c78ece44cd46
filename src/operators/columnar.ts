import type { ColumnarBatch, Column } from '../core/columns.js';
import { ensureError } from '../core/errors.js';
import type { Expression } from '../expr/index.js';
import type { ColumnReaders } from '../expr/vector.js';
import type { OperatorContext } from './operator.js';

const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/**
 * Evaluates an expression on every row of a columnar batch (rows whose `alive` flag is
 * 0 are skipped), loading only the fields it reads into one reused scope object, so no
 * object is made per row. A row whose evaluation throws is dead-lettered and its
 * `alive` flag cleared. Returns the values (a Float64Array when they are all numbers;
 * with `nulls`, which only a `masked` caller gets, a Float64Array whose rows marked 1
 * there are null).
 */
export function evalColumn(expr: Expression, batch: ColumnarBatch, alive: Uint8Array, ctx: OperatorContext, masked = false): { values: Column; allNumbers: boolean; nulls?: Uint8Array } {
  if (expr.vector) {
    // Numeric expressions over clean number columns run a column at a time.
    const fn = masked && expr.vectorWithNulls ? expr.vectorWithNulls : expr.vector;
    const v = fn((name) => cleanNumbers(batch, name), batch.rows, readers(batch));
    if (v instanceof Float64Array) return { values: v, allNumbers: true };
    if (v instanceof Uint8Array) return { values: Array.from(v, (b) => b === 1), allNumbers: false };
    // Numbers and nulls: a number column with a null mask (what a source or window
    // makes) for a caller that reads masks (`masked`), else plain values.
    // A mask without nulls is left off, so later steps read a clean column.
    if (v && masked) return v.nulls.includes(1) ? { values: v.values, allNumbers: false, nulls: v.nulls } : { values: v.values, allNumbers: true };
    if (v) return { values: Array.from(v.values, (x, i) => (v.nulls[i] ? null : x)), allNumbers: false };
  }
  const value: Record<string, unknown> = {};
  const scope = { value, key: null, timestamp: batch.timestamp, headers: NO_HEADERS };
  const reads = expr.fields.map((f) => ({ f, col: batch.columns.get(f), mask: batch.nulls.get(f) }));
  const out = new Array<unknown>(batch.rows);
  let allNumbers = true;
  for (let i = 0; i < batch.rows; i++) {
    if (!alive[i]) continue;
    for (const r of reads) value[r.f] = r.col === undefined ? null : r.mask && r.mask[i] ? null : (r.col[i] ?? null);
    try {
      const v = expr.evaluate(scope);
      out[i] = v;
      if (typeof v !== 'number') allNumbers = false;
    } catch (err) {
      ctx.deadLetter(batch.record(i), ensureError(err, 'EXPRESSION_ERROR', { operator: ctx.operatorId }));
      alive[i] = 0;
    }
  }
  if (!allNumbers) return { values: out, allNumbers };
  const nums = new Float64Array(batch.rows);
  for (let i = 0; i < batch.rows; i++) if (alive[i]) nums[i] = out[i] as number;
  return { values: nums, allNumbers };
}

export function allAlive(rows: number): Uint8Array {
  return new Uint8Array(rows).fill(1);
}

const finiteArrays = new WeakMap<Float64Array, boolean>();

/** A column the vector evaluator may read: numbers, no nulls, all finite (else the row path decides). */
function cleanNumbers(batch: ColumnarBatch, name: string): Float64Array | undefined {
  const col = batch.columns.get(name);
  if (!(col instanceof Float64Array) || batch.nulls.has(name)) return undefined;
  let ok = finiteArrays.get(col);
  if (ok === undefined) {
    ok = true;
    for (let i = 0; i < col.length; i++) {
      if (!Number.isFinite(col[i]!)) {
        ok = false;
        break;
      }
    }
    finiteArrays.set(col, ok);
  }
  return ok ? col : undefined;
}

/** What the vector evaluator may read of a batch besides clean number columns. */
function readers(batch: ColumnarBatch): ColumnReaders {
  return { strings: (name) => cleanStrings(batch, name), absent: (name) => !batch.columns.has(name), nullable: (name) => nullableNumbers(batch, name) };
}

/**
 * A number column with a null mask whose other values are all finite (a window's
 * results with empty windows): the vector evaluator's null-aware functions read it.
 */
// Keyed by the mask (a column's values may be reused under another mask, or none).
const finiteWhereSet = new WeakMap<Uint8Array, boolean>();

function nullableNumbers(batch: ColumnarBatch, name: string): { values: Float64Array; nulls: Uint8Array } | undefined {
  const col = batch.columns.get(name);
  const nulls = batch.nulls.get(name);
  if (!(col instanceof Float64Array) || !nulls) return undefined;
  let ok = finiteWhereSet.get(nulls);
  if (ok === undefined) {
    ok = true;
    const n = Math.min(col.length, nulls.length);
    for (let i = 0; i < n; i++) {
      if (!nulls[i] && !Number.isFinite(col[i]!)) {
        ok = false;
        break;
      }
    }
    finiteWhereSet.set(nulls, ok);
  }
  return ok ? { values: col, nulls } : undefined;
}

const stringArrays = new WeakMap<object, boolean>();

/** A column of strings only (no nulls, no other types), for hashing a column at a time. */
function cleanStrings(batch: ColumnarBatch, name: string): readonly string[] | undefined {
  const col = batch.columns.get(name);
  if (!Array.isArray(col)) return undefined;
  let ok = stringArrays.get(col);
  if (ok === undefined) {
    ok = col.every((v) => typeof v === 'string');
    stringArrays.set(col, ok);
  }
  return ok ? (col as string[]) : undefined;
}

/**
 * Reads expressions row by row from a columnar batch without making an object per row:
 * an expression the vector evaluator covers on this batch is read from its column (clean
 * numbers: it cannot fail), any other is evaluated on one reused scope that holds the
 * row's fields. Rows are visited in order, so errors come in the order the record path
 * raises them.
 */
export class ColumnRows {
  private readonly cols: (Float64Array | undefined)[];
  private readonly value: Record<string, unknown> = {};
  private readonly scope: { value: Record<string, unknown>; key: string | null; timestamp: number; headers: Record<string, string> };
  private readonly reads: { f: string; col: Column | undefined; mask: Uint8Array | undefined }[];
  private loaded = -1;

  constructor(
    private readonly batch: ColumnarBatch,
    private readonly exprs: readonly (Expression | undefined)[],
  ) {
    this.scope = { value: this.value, key: null, timestamp: batch.timestamp, headers: NO_HEADERS };
    this.cols = exprs.map((e) => (e ? vectorColumn(e, batch) : undefined));
    const fields = new Set<string>();
    exprs.forEach((e, j) => {
      if (e && !this.cols[j]) for (const f of e.fields) fields.add(f);
    });
    this.reads = [...fields].map((f) => ({ f, col: batch.columns.get(f), mask: batch.nulls.get(f) }));
  }

  /** Expression j at row i (undefined for an absent expression); throws as `evaluate` does. */
  at(j: number, i: number): unknown {
    const c = this.cols[j];
    if (c) return c[i];
    const e = this.exprs[j];
    if (!e) return undefined;
    if (this.loaded !== i) {
      for (const r of this.reads) this.value[r.f] = r.col === undefined ? null : r.mask && r.mask[i] ? null : (r.col[i] ?? null);
      this.scope.key = this.batch.keys?.[i] ?? null;
      this.loaded = i;
    }
    return e.evaluate(this.scope);
  }

  /** Whether expression j is read from a clean number column (every value a finite number). */
  isClean(j: number): boolean {
    return this.cols[j] !== undefined;
  }
}

/** The expression over the whole batch when the vector evaluator gives clean numbers, else undefined. */
function vectorColumn(expr: Expression, batch: ColumnarBatch): Float64Array | undefined {
  if (!expr.vector) return undefined;
  const v = expr.vector((name) => cleanNumbers(batch, name), batch.rows, readers(batch));
  return v instanceof Float64Array ? v : undefined;
}

/**
 * Output columns a step fills row by row (one per output field): numbers go to a
 * Float64Array with a null mask, and a column turns into plain values once a row holds
 * something else (e.g. `last` of text). Rows never set stay null.
 */
export class ResultColumns {
  private readonly nums: Float64Array[];
  private readonly nulls: Uint8Array[];
  private readonly generic: (unknown[] | undefined)[];

  constructor(
    private readonly names: readonly string[],
    private readonly rows: number,
  ) {
    this.nums = names.map(() => new Float64Array(rows));
    this.nulls = names.map(() => new Uint8Array(rows).fill(1));
    this.generic = names.map(() => undefined);
  }

  set(k: number, i: number, v: unknown): void {
    const g = this.generic[k];
    if (g) g[i] = v ?? null;
    else if (typeof v === 'number') {
      this.nums[k]![i] = v;
      this.nulls[k]![i] = 0;
    } else if (v !== null && v !== undefined) {
      const out = new Array<unknown>(this.rows).fill(null);
      const nums = this.nums[k]!;
      const nulls = this.nulls[k]!;
      for (let j = 0; j < this.rows; j++) if (!nulls[j]) out[j] = nums[j];
      out[i] = v;
      this.generic[k] = out;
    }
  }

  /** Sets the columns on the batch (a number column gets a null mask only if some row is null). */
  write(batch: ColumnarBatch, keep: Uint8Array): void {
    this.names.forEach((name, k) => {
      const g = this.generic[k];
      if (g) return batch.setColumn(name, g);
      const nulls = this.nulls[k]!;
      let anyNull = false;
      for (let i = 0; i < this.rows; i++) {
        if (keep[i] && nulls[i]) {
          anyNull = true;
          break;
        }
      }
      batch.setColumn(name, this.nums[k]!, anyNull ? nulls : undefined);
    });
  }
}
