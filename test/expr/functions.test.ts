import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { FUNCTIONS } from '../../src/expr/index.js';
import { compileError, ev, evalError } from './helpers.js';

const MAR_10_2024_1830 = Date.UTC(2024, 2, 10, 18, 30); // a Sunday

test('FUNCTIONS lists the built-ins', () => {
  assert.equal(FUNCTIONS.length, 33);
  for (const name of ['abs', 'coalesce', 'hash', 'dayOfWeek', 'if']) assert.ok(FUNCTIONS.includes(name), name);
});

test('abs ceil floor sqrt exp log log1p pow', () => {
  assert.equal(ev('abs(x)', { x: -3 }), 3);
  assert.equal(ev('ceil(1.2)'), 2);
  assert.equal(ev('floor(-1.2)'), -2);
  assert.equal(ev('sqrt(16)'), 4);
  assert.equal(ev('exp(0)'), 1);
  assert.equal(ev('log(1)'), 0);
  assert.equal(ev('log1p(0)'), 0);
  assert.equal(ev('pow(2, 10)'), 1024);
});

test('math functions reject non-numbers and out-of-domain inputs', () => {
  evalError('abs(x)', { x: '3' }, 'expected a number for `x`, got string "3"');
  evalError('sqrt(x)', { x: -1 }, '`sqrt(x)` gave NaN for input -1');
  evalError('log(x)', { x: 0 }, '`log(x)` gave -Infinity for input 0');
  evalError('pow(x, 0.5)', { x: -4 }, 'gave NaN');
});

test('round: half away from zero, optional digits', () => {
  assert.equal(ev('round(2.5)'), 3);
  assert.equal(ev('round(-2.5)'), -3);
  assert.equal(ev('round(1.005, 2)'), 1.01);
  assert.equal(ev('round(1234.5, -2)'), 1200);
  evalError('round(1, d)', { d: 1.5 }, 'expected an integer from -15 to 15 for `d`, got number 1.5');
});

test('min, max and clamp', () => {
  assert.equal(ev('min(3, a, 5)', { a: 1 }), 1);
  assert.equal(ev('max(3, a, 5)', { a: 9 }), 9);
  assert.equal(ev('max(xs)', { xs: [4, 8, 2] }), 8);
  assert.equal(ev('clamp(x, 0, 10)', { x: 15 }), 10);
  assert.equal(ev('clamp(x, 0, 10)', { x: -1 }), 0);
  evalError('min(xs)', { xs: [] }, 'min() of an empty list');
  evalError('max(1, x)', { x: null }, 'expected a number for `x`, got null');
  evalError('clamp(1, 5, 0)', {}, 'lower bound 5 is above upper bound 0');
});

test('len, lower, upper, trim', () => {
  assert.equal(ev('len(s)', { s: 'abc' }), 3);
  assert.equal(ev('len(xs)', { xs: [1, 2] }), 2);
  assert.equal(ev('lower("AbC") + upper("d") + trim("  e ")'), 'abcDe');
  evalError('len(x)', { x: 5 }, 'expected a string or list for `x`, got number 5');
  evalError('upper(x)', {}, 'expected a string for `x`, got null');
});

test('concat joins string forms and skips null', () => {
  assert.equal(ev('concat("a", 1, null, true, [2])'), 'a1true[2]');
});

test('substr with negative start and optional length', () => {
  assert.equal(ev('substr("hello", 1)'), 'ello');
  assert.equal(ev('substr("hello", 1, 3)'), 'ell');
  assert.equal(ev('substr("hello", -3, 2)'), 'll');
  assert.equal(ev('substr("hi", 5)'), '');
  evalError('substr("hi", 0, -1)', {}, 'expected a non-negative length');
  evalError('substr("hi", 0.5)', {}, 'expected an integer for `0.5`');
});

test('contains, startsWith, endsWith', () => {
  assert.equal(ev('contains(tags, "vip")', { tags: ['a', 'vip'] }), true);
  assert.equal(ev('contains("hello", "lo")'), true);
  assert.equal(ev('startsWith(s, "he") && endsWith(s, "lo")', { s: 'hello' }), true);
  assert.equal(ev('startsWith(s, "x")', { s: 'hello' }), false);
  evalError('contains(n, 1)', { n: 5 }, 'expected a list or string for `n`, got number 5');
});

test('coalesce returns the first non-null and is lazy', () => {
  assert.equal(ev('coalesce(delay, 0) / 60', { delay: 120 }), 2);
  assert.equal(ev('coalesce(delay, 0) / 60', {}), 0);
  assert.equal(ev('coalesce(a, b)', {}), null);
  assert.equal(ev('coalesce(1, 1 / 0)'), 1);
});

test('isNull', () => {
  assert.equal(ev('isNull(a)', {}), true);
  assert.equal(ev('isNull(a)', { a: 0 }), false);
});

test('number parses decimal strings only', () => {
  assert.equal(ev('number(" 12.5 ")'), 12.5);
  assert.equal(ev('number("-1e3")'), -1000);
  assert.equal(ev('number(true)'), 1);
  evalError('number(s)', { s: 'abc' }, 'expected a number or numeric string for `s`, got string "abc"');
  evalError('number(s)', { s: '0x10' }, 'got string "0x10"');
  evalError('number(s)', { s: '' }, 'got string ""');
});

test('string and bool conversions', () => {
  assert.equal(ev('string(1.5)'), '1.5');
  assert.equal(ev('string(null)'), 'null');
  assert.equal(ev('string(o)', { o: { a: [1] } }), '{"a":[1]}');
  assert.equal(ev('bool(" TRUE ")'), true);
  assert.equal(ev('bool("0")'), false);
  assert.equal(ev('bool(2)'), true);
  evalError('bool(s)', { s: 'maybe' }, 'got string "maybe"');
});

test('if evaluates only the chosen branch', () => {
  assert.equal(ev('if(a > 1, "big", 1 / 0)', { a: 2 }), 'big');
  evalError('if(a, 1, 2)', { a: null }, 'expected a boolean for `a`, got null');
});

test('date parts of epoch ms in UTC', () => {
  const t = { t: MAR_10_2024_1830 };
  assert.deepEqual(
    ev('[year(t), month(t), dayOfMonth(t), hour(t), dayOfWeek(t)]', t),
    [2024, 3, 10, 18, 0],
  );
  assert.equal(ev('hour($timestamp)', {}, { timestamp: MAR_10_2024_1830 }), 18);
  assert.deepEqual(ev('[year(-1), month(-1), dayOfMonth(-1), hour(-1), dayOfWeek(-1)]'), [1969, 12, 31, 23, 3]);
});

test('date parts agree with Date over many instants', () => {
  for (let t = -3e12; t < 5e12; t += 7_777_777_777) {
    const d = new Date(t);
    assert.deepEqual(
      ev('[year(t), month(t), dayOfMonth(t), hour(t), dayOfWeek(t)]', { t }),
      [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCDay()],
      String(t),
    );
  }
});

test('date parts of ISO strings; no offset means UTC', () => {
  assert.equal(ev('hour("2024-03-10T18:30:00")'), 18);
  assert.equal(ev('hour("2024-03-10 08:00")'), 8);
  assert.equal(ev('hour("2024-03-10T18:30:00.123+05:30")'), 13);
  assert.equal(ev('dayOfMonth("2024-02-29")'), 29);
  assert.equal(ev('month("2024-12-31T23:59:59Z")'), 12);
});

test('date functions reject bad input', () => {
  evalError('year(s)', { s: 'March 7' }, 'expected an epoch-ms number or ISO date string for `s`, got string "March 7"');
  evalError('dayOfMonth("2023-02-29")', {}, 'got string "2023-02-29"');
  evalError('hour(t)', {}, 'got null');
});

test('hash is FNV-1a 32 over UTF-8 of the string form', () => {
  assert.equal(ev('hash("")'), 2166136261);
  assert.equal(ev('hash("a")'), 0xe40c292c);
  assert.equal(ev('hash("foobar")'), 0xbf9cf968);
  assert.equal(ev('hash(42)'), ev('hash("42")'));
  const ref = (s: string): number => {
    let h = 0x811c9dc5;
    for (const b of Buffer.from(s, 'utf8')) h = Math.imul(h ^ b, 0x01000193);
    return h >>> 0;
  };
  assert.equal(ev('hash(s)', { s: 'é€😀x' }), ref('é€😀x'));
});

test('unknown function is a compile error listing the known ones', () => {
  const err = compileError('amount + foo(1)', 'unknown function "foo" at column 10');
  assert.match(err.message, /known functions: abs, ceil, .*hash/);
  assert.equal(err.context.column, 10);
});

test('wrong argument count is a compile error', () => {
  compileError('round(1, 2, 3)', 'round() takes 1 to 2 arguments, got 3 at column 1');
  compileError('abs()', 'abs() takes 1 argument, got 0');
  compileError('x > 1 && clamp(1, 2)', 'clamp() takes 3 arguments, got 2 at column 10');
  compileError('coalesce()', 'coalesce() takes at least 1 argument, got 0');
});
