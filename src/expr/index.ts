import { compileNode } from './compiler.js';
import { parse } from './parser.js';
import { compileNullableVector, compileVector, type NullableVectorFn, type VectorFn } from './vector.js';
import type { Fn } from './values.js';
import type { Expression } from './types.js';

export type { EvalScope, Expression } from './types.js';
export { FUNCTIONS } from './functions.js';

class CompiledExpression implements Expression {
  readonly source: string;
  readonly fields: readonly string[];
  /** An own property holding the closure tree's root, so a call costs no extra frame. */
  readonly evaluate: Fn;

  readonly vector?: VectorFn;
  readonly vectorWithNulls?: NullableVectorFn;

  constructor(source: string, fields: string[], fn: Fn, vector: VectorFn | null, vectorWithNulls: NullableVectorFn | null) {
    this.source = source;
    this.fields = Object.freeze(fields);
    this.evaluate = fn;
    if (vector) this.vector = vector;
    if (vectorWithNulls) this.vectorWithNulls = vectorWithNulls;
  }
}

/**
 * Parses and compiles an expression into a tree of closures. Throws
 * SluiceError('EXPRESSION_ERROR') with `column` in its context on syntax errors,
 * unknown functions and wrong argument counts; evaluate() throws the same code on
 * type errors and division by zero, naming the sub-expression in the message but
 * leaving context empty (callers add the operator and `expression.source`).
 */
export function compileExpression(source: string): Expression {
  const fields: string[] = [];
  const ast = parse(source);
  const { fn } = compileNode(ast, { source, fields });
  return new CompiledExpression(source, fields, fn, compileVector(ast), compileNullableVector(ast));
}

