import * as assert from 'node:assert/strict';
import { SluiceError } from '../../src/core/errors.js';
import { compileExpression } from '../../src/expr/index.js';
import type { EvalScope } from '../../src/expr/index.js';

export function scope(value: Record<string, unknown> = {}, extra: Partial<EvalScope> = {}): EvalScope {
  return { value, key: null, timestamp: 0, headers: {}, ...extra };
}

/** Compiles and evaluates `source` against one record value. */
export function ev(source: string, value: Record<string, unknown> = {}, extra: Partial<EvalScope> = {}): unknown {
  return compileExpression(source).evaluate(scope(value, extra));
}

/** Asserts that `fn` throws an EXPRESSION_ERROR whose message matches `pattern`; returns the error. */
export function expressionError(fn: () => unknown, pattern: RegExp | string): SluiceError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof SluiceError, `expected a SluiceError, got ${String(caught)}`);
  assert.equal(caught.code, 'EXPRESSION_ERROR');
  if (typeof pattern === 'string') assert.ok(caught.message.includes(pattern), `message ${JSON.stringify(caught.message)} lacks ${JSON.stringify(pattern)}`);
  else assert.match(caught.message, pattern);
  return caught;
}

export const compileError = (source: string, pattern: RegExp | string): SluiceError =>
  expressionError(() => compileExpression(source), pattern);

export const evalError = (source: string, value: Record<string, unknown>, pattern: RegExp | string): SluiceError => {
  const expr = compileExpression(source); // must compile: the error is a runtime one
  return expressionError(() => expr.evaluate(scope(value)), pattern);
};
