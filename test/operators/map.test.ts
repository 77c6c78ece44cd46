import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTopology } from '../../src/testing/index.js';
import { pipeline } from './helpers.js';

test('map sets fields in order, drops and keeps', async () => {
  const def = pipeline().map({ set: { b: 'a * 2', c: 'b + 1' }, drop: ['junk'], keep: ['a', 'b', 'c'] }).to('out').build();
  const r = await runTopology(def, { in: [{ a: 1, junk: 'x', other: 5 }, { a: 2 }] });
  assert.deepEqual(r.outputs.out, [{ a: 1, b: 2, c: 3 }, { a: 2, b: 4, c: 5 }]);
});

test('a failing expression dead-letters the record and the rest go on', async () => {
  const def = pipeline().map({ set: { b: 'a * 2' } }).to('out').build();
  const r = await runTopology(def, { in: [{ a: 1 }, { a: 'abc' }, { a: 3 }] });
  assert.deepEqual(r.outputs.out, [{ a: 1, b: 2 }, { a: 3, b: 6 }]);
  assert.equal(r.deadLetters.length, 1);
  assert.equal(r.deadLetters[0]!.error.code, 'EXPRESSION_ERROR');
  assert.equal(r.deadLetters[0]!.error.operator, 'map-0');
  assert.match(r.deadLetters[0]!.error.message, /abc/);
  assert.deepEqual(r.deadLetters[0]!.position, { source: 'in', partition: 0, offset: 1 });
  assert.equal(r.summary.recordsIn, r.summary.recordsOut + r.summary.deadLettered);
});

test('onError: fail stops the job with the reason', async () => {
  const def = pipeline().onError('fail').map({ set: { b: 'a * 2' } }).to('out').build();
  const r = await runTopology(def, { in: [{ a: 1 }, { a: 'abc' }] });
  assert.equal(r.summary.status, 'failed');
  assert.match(r.summary.error ?? '', /map-0.*abc/);
});
