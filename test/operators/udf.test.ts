import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { runTopology } from '../../src/testing/index.js';
import { pipeline } from './helpers.js';

const baseDir = resolve('test/fixtures');
const udf = (name: string) => ({ udf: { module: './udfs.mjs', export: name } });

test('map, filter and flatMap call named exports of UDF modules', async () => {
  const def = pipeline().filter(udf('isEven')).map(udf('addTax')).to('out').build();
  const r = await runTopology(def, { in: [{ n: 1, price: 10 }, { n: 2, price: 10 }] }, { baseDir });
  assert.deepEqual(r.outputs.out, [{ n: 2, price: 10, total: 12 }]);
  const words = await runTopology(pipeline().flatMap(udf('splitWords')).to('out').build(), { in: [{ text: 'a b' }] }, { baseDir });
  assert.deepEqual(words.outputs.out, [{ word: 'a' }, { word: 'b' }]);
});

test('a UDF that throws dead-letters the record with UDF_ERROR', async () => {
  const r = await runTopology(pipeline().map(udf('explode')).to('out').build(), { in: [{ a: 1 }] }, { baseDir });
  assert.equal(r.deadLetters[0]!.error.code, 'UDF_ERROR');
  assert.match(r.deadLetters[0]!.error.message, /boom/);
});

test('a map UDF that returns a BigInt dead-letters the record, naming the value', async () => {
  const r = await runTopology(pipeline().map(udf('bigId')).to('out').build(), { in: [{ a: 1 }, { a: 2 }] }, { baseDir });
  assert.deepEqual(r.outputs.out, []);
  assert.equal(r.deadLetters.length, 2);
  assert.equal(r.deadLetters[0]!.error.code, 'UDF_ERROR');
  assert.equal(r.deadLetters[0]!.error.message, 'map udf must return an object (or nothing to keep its changes); got bigint 12345678901234567890n');
});

test('a missing export fails at start with the module\'s exports listed', async () => {
  await assert.rejects(runTopology(pipeline().map(udf('nope')).to('out').build(), { in: [] }, { baseDir }), /has no function export "nope"; its exports: addTax, bigId, explode, isEven, splitWords/);
});
