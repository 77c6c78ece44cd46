import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { tokenize } from '../../src/expr/tokenizer.js';
import { compileError } from './helpers.js';

const kinds = (src: string): string[] => tokenize(src).map((t) => `${t.kind}:${t.kind === 'number' ? t.num : t.text}`);

test('tokenize: numbers in int, decimal and exponent forms', () => {
  assert.deepEqual(kinds('12 3.25 1e3 2.5E-2 7e+1'), ['number:12', 'number:3.25', 'number:1000', 'number:0.025', 'number:70', 'eof:']);
});

test('tokenize: longest operator wins', () => {
  assert.deepEqual(kinds('a**b<=c!=d'), ['name:a', 'punct:**', 'name:b', 'punct:<=', 'name:c', 'punct:!=', 'name:d', 'eof:']);
});

test('tokenize: variables, names and offsets', () => {
  const toks = tokenize('  $key == k_1');
  assert.deepEqual(toks.map((t) => [t.kind, t.text, t.start, t.end]), [
    ['variable', '$key', 2, 6], ['punct', '==', 7, 9], ['name', 'k_1', 10, 13], ['eof', '', 13, 13],
  ]);
});

test('tokenize: strings in both quotes decode escapes', () => {
  assert.deepEqual(kinds(`"a\\"b" 'c\\'d' "\\n\\t\\\\" "\\u00e9"`), ['string:a"b', "string:c'd", 'string:\n\t\\', 'string:é', 'eof:']);
});

test('tokenize: unterminated string points at its opening quote', () => {
  const err = compileError('x == "abc', 'unterminated string at column 6');
  assert.equal(err.context.column, 6);
});

test('tokenize: invalid escape and unknown characters are errors', () => {
  compileError('"a\\qb"', 'invalid escape "\\q" at column 3');
  compileError('a # b', 'unexpected character "#" at column 3');
  compileError('a = 1', 'use == to compare');
  compileError('a & b', 'use &&');
  compileError('12abc', 'invalid number "12abc" at column 1');
  compileError('1e', 'invalid number');
  compileError('$', 'expected a variable name after "$"');
});
