import { test } from 'node:test';
import assert from 'node:assert/strict';
import { operatorCatalog } from '../../src/operators/index.js';
import { parseTopology } from '../../src/topology/load.js';
import { TopologyError } from '../../src/topology/issues.js';
import { SluiceError } from '../../src/core/errors.js';

const GOOD = `name: fraud
models:
  fraud-v1:
    path: models/fraud.onnx
sources:
  events:
    type: topic
    topic: events
sinks:
  scored:
    type: topic
    topic: scored
  dlq:
    type: stdout
deadLetter: dlq
pipeline:
  - map:
      set: { amount_usd: "amount * 1.1" }
  - filter: { where: "amount_usd > 0" }
  - score:
      model: fraud-v1
      features: [amount_usd]
  - sink: scored
`;

function errorOf(text: string, env: Record<string, string> = {}): string {
  try {
    parseTopology(text, 'topology.yaml', operatorCatalog, { env });
  } catch (err) {
    if (!(err instanceof SluiceError)) throw err;
    assert.equal(err.code, 'INVALID_TOPOLOGY');
    return err.message;
  }
  throw new Error('expected the topology to be rejected');
}

test('a valid file loads to plain data', () => {
  const t = parseTopology(GOOD, 'topology.yaml', operatorCatalog);
  assert.equal(t.definition.name, 'fraud');
  assert.deepEqual(t.definition.pipeline[2], { score: { model: 'fraud-v1', features: ['amount_usd'] } });
});

test('unknown model names file, line, path and the defined models', () => {
  const msg = errorOf(GOOD.replace('model: fraud-v1', 'model: fraud-v2'));
  assert.match(msg, /topology\.yaml:21 pipeline\[2\]\.score\.model: unknown model "fraud-v2"; defined models: fraud-v1/);
});

test('unknown operator lists the known ones', () => {
  const msg = errorOf(GOOD.replace('  - filter:', '  - filterr:'));
  assert.match(msg, /topology\.yaml:19 pipeline\[1\]: unknown operator "filterr"; known operators: map, filter, flatMap, keyBy, aggregate, window, score, route, sink/);
});

test('YAML syntax errors give the line', () => {
  const msg = errorOf('name: x\nsources: [a\n');
  assert.match(msg, /topology\.yaml:3:1 Flow sequence in block collection must be sufficiently indented and end with a \]$/);
});

test('wrong types and unknown properties say what is allowed', () => {
  const msg = errorOf(GOOD + 'runtime:\n  batchSize: lots\n  colour: red\n');
  assert.match(msg, /topology\.yaml:25 runtime\.batchSize: expected integer; got string "lots"/);
  assert.match(msg, /topology\.yaml:26 runtime\.colour: unknown property "colour"; allowed: batchSize, maxInFlight, checkpointIntervalMs, shutdownTimeoutMs/);
});

test('every problem is reported at once', () => {
  const err = (() => {
    try {
      parseTopology(GOOD.replace('type: stdout', 'type: printer').replace('model: fraud-v1', 'model: nope'), 'topology.yaml', operatorCatalog);
    } catch (e) {
      return e as TopologyError;
    }
    return undefined;
  })();
  if (!(err instanceof TopologyError)) throw new Error('expected a TopologyError');
  assert.equal(err.issues.length, 2);
  assert.match(err.lines[0]!, /sinks\.dlq\.type: unknown type "printer"; allowed: topic, file, stdout/);
});

test('expression syntax errors point at the column', () => {
  const msg = errorOf(GOOD.replace('"amount_usd > 0"', '"amount_usd > )"'));
  assert.match(msg, /topology\.yaml:19 pipeline\[1\]\.filter\.where: .*column 14/);
});

test('route targets must be defined sinks', () => {
  const msg = errorOf(GOOD.replace('  - sink: scored', '  - route:\n      routes:\n        - { when: "score > 0.5", to: alerts }\n      default: scored'));
  assert.match(msg, /pipeline\[3\]\.route\.routes\[0\]\.to: unknown sink "alerts"; defined sinks: scored, dlq/);
});

test('the pipeline must end in a sink step, and sink steps come last', () => {
  assert.match(errorOf(GOOD.replace('  - sink: scored\n', '')), /pipeline\[2\]\.score: the pipeline must end with a step that writes to sinks \(route or sink\)/);
  assert.match(errorOf(GOOD.replace('  - filter:', '  - sink: scored\n  - filter:')), /pipeline\[1\]\.sink: "sink" sends records to sinks, so it must be the last step/);
});

test('a dead-letter sink is required unless onError is fail', () => {
  const noDl = GOOD.replace('deadLetter: dlq\n', '');
  assert.match(errorOf(noDl), /deadLetter: required when onError is "deadLetter"/);
  assert.doesNotThrow(() => parseTopology(noDl + 'onError: fail\n', 't.yaml', operatorCatalog));
});

test('duplicate step ids are rejected', () => {
  const msg = errorOf(GOOD.replace('set: { amount_usd', 'id: a\n      set: { amount_usd').replace('filter: { where', 'filter: { id: a, where'));
  assert.match(msg, /pipeline\[1\]\.filter\.id: id "a" is already used by pipeline\[0\]/);
});

test('${ENV} interpolation, defaults, and a missing variable', () => {
  const text = GOOD.replace('topic: events', 'topic: ${IN_TOPIC}').replace('topic: scored', 'topic: ${OUT_TOPIC:-scored-default}');
  const t = parseTopology(text, 'topology.yaml', operatorCatalog, { env: { IN_TOPIC: 'live-events' } });
  assert.equal((t.definition.sources.events as { topic: string }).topic, 'live-events');
  assert.equal((t.definition.sinks.scored as { topic: string }).topic, 'scored-default');
  assert.match(errorOf(text), /topology\.yaml:8 sources\.events\.topic: environment variable IN_TOPIC is not set/);
});

test('JSON files load the same way, with lines', () => {
  const json = JSON.stringify({ name: 'j', sources: { s: { type: 'topic', topic: 't' } }, sinks: { o: { type: 'stdout' } }, onError: 'fail', pipeline: [{ keyBy: {} }, { sink: 'o' }] }, null, 2);
  assert.match(errorOf(json), /topology\.yaml:\d+ pipeline\[0\]\.keyBy\.key: required, but missing/);
});
