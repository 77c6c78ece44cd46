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
}
