import { test } from 'node:test';
import assert from 'node:assert/strict';
import { topology } from '../../src/topology/builder.js';
import { parseTopology } from '../../src/topology/load.js';
import { validateTopology } from '../../src/topology/validate.js';
import { operatorCatalog } from '../../src/operators/index.js';

test('the builder and the YAML loader produce the same definition', () => {
  const built = topology('demo')
    .model('mlp', { path: 'm.onnx', maxBatchSize: 256 })
    .source('events', { type: 'topic', topic: 'events' })
    .map({ set: { x: 'a * 2' } })
    .score({ model: 'mlp', features: ['x'] })
    .to('out')
    .sink('out', { type: 'stdout' })
    .sink('dlq', { type: 'topic', topic: 'dlq' })
    .deadLetter('dlq')
    .build();
  const yaml = `
name: demo
models: { mlp: { path: m.onnx, maxBatchSize: 256 } }
sources: { events: { type: topic, topic: events } }
pipeline:
  - map: { set: { x: "a * 2" } }
  - score: { model: mlp, features: [x] }
  - sink: out
sinks: { out: { type: stdout }, dlq: { type: topic, topic: dlq } }
deadLetter: dlq
`;
  assert.deepEqual(validateTopology(built, operatorCatalog), parseTopology(yaml, 't.yaml', operatorCatalog).definition);
});

test('a built definition is validated like a file (without a line)', () => {
  const bad = topology('x').source('s', { type: 'topic', topic: 't' }).score({ model: 'nope', features: ['a'] }).to('o').sink('o', { type: 'stdout' }).onError('fail').build();
  assert.throws(() => validateTopology(bad, operatorCatalog), /pipeline\[0\]\.score\.model: unknown model "nope"; defined models: none/);
});
