import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTopology } from '../../src/testing/index.js';
import { pipeline } from './helpers.js';

test('route sends each record to the first matching sink, else the default', async () => {
  const def = pipeline().sink('alerts', { type: 'stdout' }).route({ routes: [{ when: 'score > 0.9', to: 'alerts' }, { when: 'score > 0.5', to: 'out' }] , default: 'dlq' }).build();
  const r = await runTopology(def, { in: [{ score: 0.95 }, { score: 0.6 }, { score: 0.1 }] });
  assert.deepEqual(r.outputs.alerts, [{ score: 0.95 }]);
  assert.deepEqual(r.outputs.out, [{ score: 0.6 }]);
  assert.deepEqual(r.outputs.dlq, [{ score: 0.1 }]);
});

test('a record that matches no route and has no default is dead-lettered, not dropped', async () => {
  const def = pipeline().route({ routes: [{ when: 'x == 1', to: 'out' }] }).build();
  const r = await runTopology(def, { in: [{ x: 1 }, { x: 2 }] });
  assert.deepEqual(r.outputs.out, [{ x: 1 }]);
  assert.equal(r.deadLetters.length, 1);
  assert.match(r.deadLetters[0]!.error.message, /matched no route/);
  assert.equal(r.summary.recordsIn, r.summary.recordsOut + r.summary.deadLettered);
});
