import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTopology } from '../../src/testing/index.js';
import { pipeline } from './helpers.js';

test('keyBy sets the record key from an expression', async () => {
  const def = pipeline().keyBy({ key: 'user' }).to('out').build();
  const r = await runTopology(def, { in: [{ user: 'u1' }, { user: 42 }, { other: 1 }] });
  assert.deepEqual(r.records.out!.map((x) => x.key), ['u1', '42']);
  assert.match(r.deadLetters[0]!.error.message, /keyBy `user` must give a string or number; got null/);
});
