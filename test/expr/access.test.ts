import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { compileExpression } from '../../src/expr/index.js';
import { ev, evalError, scope } from './helpers.js';

const fields = (src: string): readonly string[] => compileExpression(src).fields;

test('identifiers read fields; a missing field is null', () => {
  assert.equal(ev('amount', { amount: 5 }), 5);
  assert.equal(ev('amount', {}), null);
  assert.equal(ev('u', { u: undefined }), null);
});

test('dotted paths and indexing', () => {
  const v = { user: { address: { city: 'SF' } }, items: [10, { name: 'n' }], m: { 'odd key': 7 } };
  assert.equal(ev('user.address.city', v), 'SF');
  assert.equal(ev('items[0]', v), 10);
  assert.equal(ev('items[1].name', v), 'n');
  assert.equal(ev('m["odd key"]', v), 7);
  assert.equal(ev('m[k]', { ...v, k: 'odd key' }), 7);
});

test('members of null propagate null; out-of-range indexes are null', () => {
  assert.equal(ev('user.address.city', {}), null);
  assert.equal(ev('user.address.city', { user: { address: null } }), null);
  assert.equal(ev('items[5]', { items: [1] }), null);
  assert.equal(ev('items[-1]', { items: [1] }), null);
  assert.equal(ev('missing[0].x'), null);
});

test('wrong container or key types are errors naming the value', () => {
  evalError('s.x', { s: 'abc' }, 'expected an object for `s`, got string "abc"');
  evalError('items[i]', { items: [1], i: 0.5 }, 'expected an integer index for `i`, got number 0.5');
  evalError('o[0]', { o: {} }, 'expected a string key for `0`, got number 0');
  evalError('n[0]', { n: 3 }, 'expected a list or object for `n`, got number 3');
});

test('special variables $key, $timestamp, $headers', () => {
  const s = scope({}, { key: 'k1', timestamp: 1234, headers: { trace: 't-1', 'x-id': '9' } });
  assert.equal(compileExpression('$key + "!"').evaluate(s), 'k1!');
  assert.equal(compileExpression('$timestamp + 1').evaluate(s), 1235);
  assert.equal(compileExpression('$headers.trace').evaluate(s), 't-1');
  assert.equal(compileExpression('$headers["x-id"]').evaluate(s), '9');
  assert.equal(compileExpression('$headers.none').evaluate(s), null);
  assert.equal(compileExpression('$key == null').evaluate(scope()), true);
});

test('prototype names read as null', () => {
  const v = { o: { a: 1 }, xs: [1] };
  for (const src of ['__proto__', 'constructor', 'prototype', 'o.__proto__', 'o.constructor', 'o["constructor"]', 'o["__proto__"]', 'xs.constructor', '$headers.constructor']) {
    assert.equal(ev(src, v), null, src);
  }
  assert.equal(ev('o.__proto__.polluted', v), null);
});

test('only own properties are read', () => {
  const inherited = Object.create({ secret: 's', n: 1 }) as Record<string, unknown>;
  inherited.own = 'o';
  assert.equal(compileExpression('secret').evaluate(scope(inherited)), null);
  assert.equal(compileExpression('own').evaluate(scope(inherited)), 'o');
  assert.equal(ev('o.secret', { o: inherited }), null);
  assert.equal(ev('o["n"]', { o: inherited }), null);
  assert.equal(ev('toString', {}), null);
  assert.equal(ev('o.hasOwnProperty', { o: {} }), null);
});

test('a JSON-parsed own "__proto__" key still reads as null', () => {
  const v = JSON.parse('{"o": {"__proto__": {"x": 1}}}') as Record<string, unknown>;
  assert.equal(ev('o.__proto__', v), null);
  assert.equal(ev('o["__proto__"]', v), null);
});

test('fields: distinct top-level names in first-use order', () => {
  assert.deepEqual(fields('b + a * b > c.d.e && a[0] == f[g]'), ['b', 'a', 'c', 'f', 'g']);
  assert.deepEqual(fields('coalesce(delay, 0) / 60'), ['delay']);
  assert.deepEqual(fields('hour($timestamp) > 1 && $headers.x == "y"'), []);
  assert.deepEqual(fields('x ? y : z'), ['x', 'y', 'z']);
  assert.deepEqual(fields('1 + 2'), []);
});

test('Expression exposes source and frozen fields', () => {
  const e = compileExpression('distance > 500');
  assert.equal(e.source, 'distance > 500');
  assert.ok(Object.isFrozen(e.fields));
  assert.equal(e.evaluate(scope({ distance: 501 })), true);
  assert.equal(e.evaluate(scope({ distance: 499 })), false); // reusable across records
});

test('constant sub-expressions that fail still fail at evaluation, not compile', () => {
  const e = compileExpression('a ? 1 : 1 / 0');
  assert.equal(e.evaluate(scope({ a: true })), 1);
  evalError('a ? 1 : 1 / 0', { a: false }, 'division by zero in `1 / 0`');
});
