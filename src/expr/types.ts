import type { NullableVectorFn, VectorFn } from './vector.js';

/** What an expression sees of one record. */
export interface EvalScope {
  value: Record<string, unknown>;
  key: string | null;
  timestamp: number;
  headers: Record<string, string>;
}

export interface Expression {
  readonly source: string;
  /** Distinct top-level value fields the expression reads, in first-use order. */
  readonly fields: readonly string[];
  evaluate(scope: EvalScope): unknown;
  /**
   * Whole-column evaluation for numeric expressions (see vector.ts), or undefined when
   * the expression is not numeric. Gives numbers (Float64Array) or booleans (Uint8Array,
   * 0/1), or null when this batch must be evaluated row by row.
   */
  readonly vector?: VectorFn;
  /** As `vector`, but may also give numbers with nulls (a number column and its null mask). */
  readonly vectorWithNulls?: NullableVectorFn;
}
