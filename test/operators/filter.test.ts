import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTopology } from '../../src/testing/index.js';
import { pipeline } from './helpers.js';

test('filter keeps records whose predicate is true', async () => {
  const def = pipeline().filter({ where: 'x > 1 && tag != "skip"' }).to('out').build();
  const r = await runTopology(def, { in: [{ x: 1, tag: 'a' }, { x: 2, tag: 'a' }, { x: 3, tag: 'skip' }, { x: 4, tag: 'b' }] });
  assert.deepEqual(r.outputs.out, [{ x: 2, tag: 'a' }, { x: 4, tag: 'b' }]);
  assert.equal(r.deadLetters.length, 0);
});

test('a predicate that is not boolean dead-letters the record', async () => {
  const def = pipeline().filter({ where: 'x + 1' }).to('out').build();
  const r = await runTopology(def, { in: [{ x: 1 }] });
  assert.deepEqual(r.outputs.out, []);
  assert.match(r.deadLetters[0]!.error.message, /must give true or false; got number 2/);
});
