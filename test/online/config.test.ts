/** The online: section: defaults, flags over the file, version order, and validation with file and line. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareVersions, resolveOnlineConfig } from '../../src/online/config.js';
import { operatorCatalog } from '../../src/operators/index.js';
import { loadTopologyFile } from '../../src/topology/load.js';

test('defaults, and flags win over the file', () => {
  const d = resolveOnlineConfig(undefined, ['a', 'b']);
  assert.deepEqual({ ...d, models: [...d.models].map(([k, v]) => [k, [...v]]) }, {
    port: 8080, host: '127.0.0.1', tokens: [], bodyLimit: 1048576, maxInFlight: 4096, deadlineMs: 1000, priority: 10, drainTimeoutMs: 10000, mode: 'direct',
    models: [['a', [['1', 'a']]], ['b', [['1', 'b']]]],
  });
  const c = resolveOnlineConfig({ port: 9000, host: '0.0.0.0', auth: { tokens: ['x'] }, deadlineMs: 50 }, ['a'], { port: 0, tokens: ['y'] });
  assert.equal(c.port, 0);
  assert.equal(c.host, '0.0.0.0');
  assert.deepEqual(c.tokens, ['y']);
  assert.equal(c.deadlineMs, 50);
});

test('versions compare as numbers when both are numbers, else as text', () => {
  assert.deepEqual(['10', '9', '2'].sort(compareVersions), ['2', '9', '10']);
  assert.deepEqual(['b', 'a', '1'].sort(compareVersions), ['1', 'a', 'b']);
});

test('a version naming an unknown model, and a bad online field, are reported with file, line and path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-online-config-'));
  const file = join(dir, 'topology.yaml');
  writeFileSync(file, [
    'name: t',
    'models:',
    '  m1: { path: m.onnx }',
    'sources:',
    '  in: { type: topic, topic: in }',
    'pipeline:',
    '  - sink: out',
    'sinks:',
    '  out: { type: stdout }',
    'onError: fail',
    'online:',
    '  maxInFlight: 0',
    '  models:',
    '    m:',
    '      versions: { "1": m1, "2": m2 }',
    '',
  ].join('\n'));
  assert.throws(() => loadTopologyFile(file, operatorCatalog), (err: Error) => {
    assert.match(err.message, /topology\.yaml:15 online\.models\.m\.versions\["2"\]: unknown model "m2"; defined models: m1/);
    assert.match(err.message, /topology\.yaml:12 online\.maxInFlight/);
    return true;
  });
});
