import { SluiceError, ensureError } from '../core/errors.js';
import type { StreamRecord } from '../core/record.js';
import type { Expression } from '../expr/index.js';
import type { OperatorContext } from './operator.js';

/** Marks a record that failed and was dead-lettered. */
export const FAILED: unique symbol = Symbol('failed');

/** Evaluates an expression on a record; on error dead-letters the record and returns FAILED. */
export function evalOn(expr: Expression, record: StreamRecord, ctx: OperatorContext): unknown {
  try {
    return expr.evaluate(record);
  } catch (err) {
    ctx.deadLetter(record, ensureError(err, 'EXPRESSION_ERROR', { operator: ctx.operatorId }));
    return FAILED;
  }
}

/** Calls a UDF on a record; on error dead-letters the record with UDF_ERROR and returns FAILED. */
export function callUdf(fn: (...args: unknown[]) => unknown, record: StreamRecord, ctx: OperatorContext, what: string): unknown {
  try {
    return fn(record.value, record);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    ctx.deadLetter(record, new SluiceError('UDF_ERROR', `${what} threw: ${msg}`, { operator: ctx.operatorId }, { cause: err }));
    return FAILED;
  }
}

export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  // JSON.stringify would show NaN and ±Infinity (JSON's 1e400) as null, and throws on a BigInt.
  if (typeof v === 'number') return `number ${v}${v === Infinity || v === -Infinity ? ' (a number beyond ±1.8e308, e.g. JSON 1e400)' : ''}`;
  if (typeof v === 'bigint') return `bigint ${v}n`;
  let s: string | undefined;
  try {
    s = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));
  } catch {
    s = Object.prototype.toString.call(v); // a cycle
  }
  return `${Array.isArray(v) ? 'list' : typeof v} ${s && s.length > 40 ? s.slice(0, 37) + '...' : s}`;
}
