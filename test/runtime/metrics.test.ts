import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMetrics } from '../../src/metrics/registry.js';
import { serveMetrics } from '../../src/metrics/server.js';
import { runTopology } from '../../src/testing/index.js';
import { topology } from '../../src/topology/builder.js';

test('operators count records in, out and dead-lettered, served as Prometheus text on /metrics', async () => {
  const metrics = createMetrics();
  const def = topology('m').source('in', { type: 'topic', topic: 'in' }).map({ id: 'double', set: { y: 'x * 2' } }).to('out').sink('out', { type: 'stdout' }).sink('dlq', { type: 'stdout' }).deadLetter('dlq').build();
  await runTopology(def, { in: [{ x: 1 }, { x: 'no' }, { x: 3 }] }, { metrics });
  const server = await serveMetrics(metrics.registry, 0);
  try {
    const addr = server.address() as { port: number };
    const text = await (await fetch(`http://127.0.0.1:${addr.port}/metrics`)).text();
    assert.match(text, /sluice_operator_records_in_total\{operator="double"\} 3/);
    assert.match(text, /sluice_operator_records_out_total\{operator="double"\} 2/);
    assert.match(text, /sluice_records_dead_lettered_total\{operator="double",code="EXPRESSION_ERROR"\} 1/);
    assert.match(text, /sluice_checkpoint_seconds_count\{task="in-0"\} [1-9]/);
    assert.equal((await fetch(`http://127.0.0.1:${addr.port}/other`)).status, 404);
  } finally {
    server.close();
  }
});
