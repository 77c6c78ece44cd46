import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toJson } from '../../src/core/json.js';

test('toJson writes what JSON.stringify writes, and 64-bit integers as JSON numbers with every digit', () => {
  const plain = { id: 1, user: 'u1', f: [0.5, -1, null], nested: { s: 'a"b', t: true } };
  assert.equal(toJson(plain), JSON.stringify(plain));
  assert.equal(toJson(undefined), undefined);
  assert.equal(toJson({ big: 9_007_199_254_740_993n, list: [1n, -2n], inner: { n: 3 } }), '{"big":9007199254740993,"list":[1,-2],"inner":{"n":3}}');
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  assert.throws(() => toJson(circular), TypeError);
});
