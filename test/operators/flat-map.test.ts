import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTopology } from '../../src/testing/index.js';
import { pipeline } from './helpers.js';

test('flatMap explodes a list into records, copying the other fields', async () => {
  const def = pipeline().flatMap({ explode: 'items', as: 'item' }).map({ drop: ['items'] }).to('out').build();
  const r = await runTopology(def, { in: [{ id: 1, items: ['a', 'b'] }, { id: 2, items: [] }] });
  assert.deepEqual(r.outputs.out, [{ id: 1, item: 'a' }, { id: 1, item: 'b' }]);
});

test('without `as`, object elements become the values; anything else is dead-lettered', async () => {
  const def = pipeline().flatMap({ explode: 'rows' }).to('out').build();
  const r = await runTopology(def, { in: [{ rows: [{ a: 1 }, { a: 2 }] }, { rows: 5 }, { rows: [1] }] });
  assert.deepEqual(r.outputs.out, [{ a: 1 }, { a: 2 }]);
  assert.equal(r.deadLetters.length, 2);
  assert.match(r.deadLetters[0]!.error.message, /must give a list; got number 5/);
});
