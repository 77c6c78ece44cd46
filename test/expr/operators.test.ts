import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ev, evalError } from './helpers.js';

test('arithmetic: + - * / % ** and unary minus', () => {
  assert.equal(ev('amount * 1.1', { amount: 3 }), 3 * 1.1);
  assert.equal(ev('a + b - c', { a: 1, b: 2, c: 4 }), -1);
  assert.equal(ev('a / b', { a: 7, b: 2 }), 3.5);
  assert.equal(ev('a % 3', { a: 7 }), 1);
  assert.equal(ev('-a % 3', { a: 7 }), -1); // sign of the dividend, as in JS
  assert.equal(ev('2 ** a', { a: 10 }), 1024);
  assert.equal(ev('-a', { a: 5 }), -5);
});

test('arithmetic: precedence evaluates as written', () => {
  assert.equal(ev('1 + 2 * 3'), 7);
  assert.equal(ev('(1 + 2) * 3'), 9);
  assert.equal(ev('-2 ** 2'), -4);
  assert.equal(ev('2 ** 3 ** 2'), 512);
  assert.equal(ev('10 - 4 - 3'), 3);
});

test('+ concatenates two strings', () => {
  assert.equal(ev('a + "-" + b', { a: 'x', b: 'y' }), 'x-y');
});

test('+ mixing a string and a number names the offending side', () => {
  evalError('a + b', { a: 'x', b: 1 }, 'expected a string for `b`, got number 1');
  evalError('a + b', { a: 1, b: 'x' }, 'expected a number for `b`, got string "x"');
  evalError('a + b', { a: true, b: 1 }, 'expected a number or string for `a`, got boolean true');
  evalError('a + 1', { a: 'x' }, 'expected a number for `a`, got string "x"'); // a number on the right needs one on the left
});

test('arithmetic on a non-number names the sub-expression and value', () => {
  evalError('amount * 2', { amount: 'abc' }, 'expected a number for `amount`, got string "abc"');
  evalError('1 - (x + 1) * y', { x: 1, y: [1] }, 'expected a number for `y`, got list [1]');
  evalError('-x', { x: 'a' }, 'expected a number for `x`, got string "a"');
});

test('arithmetic with null or a missing field throws "got null"', () => {
  evalError('amount * 2', { amount: null }, 'expected a number for `amount`, got null');
  evalError('2 * missing', {}, 'expected a number for `missing`, got null');
});

test('division and modulo by zero are errors, not Infinity/NaN', () => {
  evalError('a / b', { a: 1, b: 0 }, 'division by zero in `a / b`');
  evalError('a % b', { a: 1, b: 0 }, 'division by zero in `a % b`');
  evalError('a / 0', { a: 1 }, 'division by zero in `a / 0`');
});

test('** with a non-finite result is an error', () => {
  evalError('a ** -1', { a: 0 }, '`a ** -1` gave Infinity');
});

test('ordering comparisons on numbers and on two strings', () => {
  assert.equal(ev('a < b', { a: 1, b: 2 }), true);
  assert.equal(ev('a <= 1', { a: 1 }), true);
  assert.equal(ev('a > 1', { a: 1 }), false);
  assert.equal(ev('a >= b', { a: 'b', b: 'a' }), true);
  assert.equal(ev('a < "b"', { a: 'abc' }), true);
});

test('ordering comparisons reject mixed and non-orderable operands', () => {
  evalError('a < 1', { a: '1' }, 'expected a number for `a`, got string "1"');
  evalError('a < b', { a: 1, b: '2' }, 'expected a number for `b`, got string "2"');
  evalError('a < b', { a: 'x', b: 2 }, 'expected a string for `b`, got number 2');
  evalError('a >= b', { a: null, b: 2 }, 'expected a number or string for `a`, got null');
});

test('== and != are strict on primitives', () => {
  assert.equal(ev('origin == "SFO"', { origin: 'SFO' }), true);
  assert.equal(ev('a == b', { a: 1, b: '1' }), false);
  assert.equal(ev('a != b', { a: 1, b: '1' }), true);
  assert.equal(ev('a == true', { a: true }), true);
  assert.equal(ev('missing == null'), true);
  assert.equal(ev('xs == null', { xs: [1] }), false);
});

test('== between two lists or objects is an error', () => {
  evalError('a == b', { a: [1], b: [1] }, '`==` compares numbers, strings, booleans and null');
});

test('in: list membership and substring', () => {
  assert.equal(ev('origin in ["SFO", "LAX"]', { origin: 'LAX' }), true);
  assert.equal(ev('2 in xs', { xs: [1, 2] }), true);
  assert.equal(ev('"2" in xs', { xs: [1, 2] }), false);
  assert.equal(ev('"ell" in s', { s: 'hello' }), true);
  assert.equal(ev('c in [1,2,3,4,5,6,7,8,9,10,11]', { c: 11 }), true); // large constant list
  assert.equal(ev('c in [1,2,3,4,5,6,7,8,9,10,11]', { c: 12 }), false);
});

test('in: wrong container or item types throw', () => {
  evalError('x in tags', {}, 'expected a list or string for `tags`, got null');
  evalError('1 in s', { s: 'abc' }, 'expected a string for `1`, got number 1');
});

test('&& / || / and / or return booleans and short-circuit', () => {
  assert.equal(ev('distance > 500 && origin == "SFO"', { distance: 600, origin: 'SFO' }), true);
  assert.equal(ev('a and b', { a: true, b: false }), false);
  assert.equal(ev('a || b', { a: false, b: true }), true);
  assert.equal(ev('a or b', { a: false, b: false }), false);
  // the right side is not evaluated, so its type error does not fire
  assert.equal(ev('false && 1 / 0 > 1'), false);
  assert.equal(ev('true || x', { x: 'nope' }), true);
});

test('&& and || require boolean operands', () => {
  evalError('a && true', { a: 1 }, 'expected a boolean for `a`, got number 1');
  evalError('true && b', { b: 'yes' }, 'expected a boolean for `b`, got string "yes"');
  evalError('false or missing', {}, 'expected a boolean for `missing`, got null');
});

test('! and not require a boolean', () => {
  assert.equal(ev('!a', { a: false }), true);
  assert.equal(ev('not a', { a: true }), false);
  evalError('!a', { a: 0 }, 'expected a boolean for `a`, got number 0');
});

test('ternary picks a branch lazily and requires a boolean test', () => {
  assert.equal(ev('hour($timestamp) >= 18 ? 1 : 0', {}, { timestamp: Date.UTC(2024, 0, 1, 19) }), 1);
  assert.equal(ev('a ? "y" : 1 / 0', { a: true }), 'y');
  evalError('a ? 1 : 2', { a: 1 }, 'expected a boolean for `a`, got number 1');
});

test('list literals evaluate their items', () => {
  assert.deepEqual(ev('[1, a, "x", [b]]', { a: 2, b: null }), [1, 2, 'x', [null]]);
  assert.ok(Object.isFrozen(ev('[1, 2]'))); // constant lists are shared, so frozen
});

test('error messages quote parenthesised sub-expressions whole', () => {
  evalError('(a + b) * 2', { a: 'x', b: 'y' }, 'expected a number for `(a + b)`, got string "xy"');
});
