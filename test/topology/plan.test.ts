import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyedStatePoints, planStages } from '../../src/topology/plan.js';

const P = [
  { map: { set: { x: '1' } } },
  { keyBy: { key: 'user' } },
  { aggregate: { id: 'running', aggregates: { n: { count: {} } } } },
  { sink: 'out' },
];

test('plan: a keyBy feeding keyed state over several tasks splits the pipeline at a hop', () => {
  const stages = planStages('t', P, 3, 3);
  assert.equal(stages.length, 2);
  const [first, second] = stages;
  assert.deepEqual(first!.steps.map((s) => `${s.kind}:${s.id}`), ['map:map-0', 'keyBy:keyBy-1', 'sink:keyBy-1.repartition']);
  assert.deepEqual(first!.output, { keyBy: 'keyBy-1', topic: 't-keyBy-1-repartition', sink: 'repartition:t-keyBy-1-repartition', partitions: 3 });
  assert.equal(first!.steps[2]!.config, 'repartition:t-keyBy-1-repartition');
  assert.deepEqual(second!.steps.map((s) => `${s.kind}:${s.id}:${s.index}`), ['aggregate:running:2', 'sink:sink-3:3'], 'steps keep their pipeline index and id, so state namespaces do not move');
  assert.equal(second!.input, first!.output);
  assert.equal(second!.output, undefined);
});

test('plan: one input task needs no hop unless the keyBy asks for partitions', () => {
  assert.equal(planStages('t', P, 1, 1).length, 1);
  const asked = planStages('t', [P[0]!, { keyBy: { key: 'user', partitions: 8 } }, P[2]!, P[3]!], 1, 1);
  assert.equal(asked.length, 2);
  assert.equal(asked[0]!.output!.partitions, 8);
  // Two sources of one partition each: two tasks, so a hop of one partition gathers each key.
  assert.equal(planStages('t', P, 2, 1)[0]!.output!.partitions, 1);
});

test('plan: only keyBys whose key a stateful step uses get a hop; several hops chain', () => {
  assert.deepEqual(keyedStatePoints([{ keyBy: { key: 'a' } }, { map: {} }, { sink: 'o' }]), [], 'a keyBy that only sets the sink key');
  assert.deepEqual(keyedStatePoints([{ keyBy: { key: 'a' } }, { keyBy: { key: 'b' } }, { window: {} }, { sink: 'o' }]), [1], 'the last keyBy before the state');
  const two = [{ keyBy: { id: 'a', key: 'a' } }, { aggregate: {} }, { keyBy: { id: 'b', key: 'b', partitions: 2 } }, { window: {} }, { sink: 'o' }];
  const stages = planStages('t', two, 4, 4);
  assert.deepEqual(stages.map((s) => [s.input?.topic ?? '-', s.output?.topic ?? '-', s.output?.partitions ?? 0]), [
    ['-', 't-a-repartition', 4],
    ['t-a-repartition', 't-b-repartition', 2],
    ['t-b-repartition', '-', 0],
  ]);
  assert.deepEqual(planStages('t', [{ aggregate: {} }, { sink: 'o' }], 4, 4).length, 1, 'state on the producer key needs no hop');
});
