import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { parse } from '../../src/expr/parser.js';
import type { Node } from '../../src/expr/parser.js';
import { compileError } from './helpers.js';

/** Fully parenthesised rendering, to assert on the tree's shape. */
function show(n: Node): string {
  switch (n.type) {
    case 'literal': return JSON.stringify(n.value);
    case 'list': return `[${n.items.map(show).join(' ')}]`;
    case 'field': return n.name;
    case 'variable': return `$${n.name}`;
    case 'member': return `${show(n.object)}.${n.name}`;
    case 'index': return `${show(n.object)}[${show(n.index)}]`;
    case 'unary': return `(${n.op}${show(n.operand)})`;
    case 'binary': case 'logical': return `(${show(n.left)} ${n.op} ${show(n.right)})`;
    case 'conditional': return `(${show(n.test)} ? ${show(n.consequent)} : ${show(n.alternate)})`;
    case 'call': return `${n.name}(${n.args.map(show).join(', ')})`;
  }
}
const p = (src: string): string => show(parse(src));

test('parse: multiplicative binds tighter than additive, left-assoc', () => {
  assert.equal(p('a + b * c - d'), '((a + (b * c)) - d)');
  assert.equal(p('a / b % c'), '((a / b) % c)');
});

test('parse: ** is right-assoc and tighter than unary minus on its left', () => {
  assert.equal(p('2 ** 3 ** 2'), '(2 ** (3 ** 2))');
  assert.equal(p('-a ** 2'), '(-(a ** 2))');
  assert.equal(p('a ** -b'), '(a ** (-b))');
});

test('parse: comparison > equality > and > or > ternary', () => {
  assert.equal(p('a < b == c >= d'), '((a < b) == (c >= d))');
  assert.equal(p('a || b && c'), '(a || (b && c))');
  assert.equal(p('a or b and not c'), '(a || (b && (!c)))');
  assert.equal(p('a || b ? x : y'), '((a || b) ? x : y)');
  assert.equal(p('a ? b : c ? d : e'), '(a ? b : (c ? d : e))');
});

test('parse: in sits with the comparisons, below arithmetic', () => {
  assert.equal(p('a + 1 in xs && ok'), '(((a + 1) in xs) && ok)');
});

test('parse: parentheses override precedence', () => {
  assert.equal(p('(a + b) * c'), '((a + b) * c)');
  const n = parse('(a + b) * c');
  assert.equal(n.type === 'binary' && n.left.start, 0); // span covers the parentheses
});

test('parse: paths, indexing, calls and lists', () => {
  assert.equal(p('user.address.city'), 'user.address.city');
  assert.equal(p('items[0].name'), 'items[0].name');
  assert.equal(p('m["k"]'), 'm["k"]');
  assert.equal(p('x.in'), 'x.in'); // keywords are fine as member names
  assert.equal(p('max(a, [1, "x"], -2)'), 'max(a, [1 "x"], (-2))');
  assert.equal(p('f()'), 'f()');
  assert.equal(p('[]'), '[]');
});

test('parse: literals and variables', () => {
  assert.equal(p('true && false || null == $key'), '((true && false) || (null == $key))');
  assert.equal(p('$headers.trace'), '$headers.trace');
});

test('parse: syntax errors carry 1-based column, source and caret line', () => {
  const err = compileError('amount * )', 'unexpected token ")" at column 10 in expression "amount * )"');
  assert.equal(err.context.column, 10);
  assert.ok(err.message.endsWith('\n  amount * )\n           ^'), err.message);
});

test('parse: trailing garbage and premature end', () => {
  assert.equal(compileError('a + b c', 'unexpected token "c" at column 7').context.column, 7);
  assert.equal(compileError('a +', 'unexpected end of expression at column 4').context.column, 4);
  compileError('(a + b', 'expected ")" but the expression ended');
  compileError('f(a b)', 'expected "," or ")" but found "b"');
  compileError('a ? b', 'expected ":"');
  compileError('a.1', 'expected a field name after "." at column 3');
  compileError('a.(b)', 'expected a field name after "."');
});

test('parse: reserved words, unknown variables and calling non-functions', () => {
  compileError('in + 1', 'unexpected token "in" at column 1');
  compileError('$value', 'unknown variable "$value"');
  compileError('a.b(1)', 'only built-in functions can be called at column 4');
  compileError('a constructor', 'unexpected token "constructor"');
});
