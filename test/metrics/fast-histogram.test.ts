import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { FastHistogram } from '../../src/metrics/fast-histogram.js';

const cfg = { name: 'demo_seconds', help: 'A demo latency.', labelNames: ['route', 'status'] as const, buckets: [0.001, 0.01, 0.1, 1] };
const observations: [Record<'route' | 'status', string>, number][] = [
  [{ route: '/a', status: '200' }, 0.0005],
  [{ route: '/a', status: '200' }, 0.001], // on a bound: counted in that bucket (le)
  [{ route: '/a', status: '200' }, 0.05],
  [{ route: '/b', status: '429' }, 3],
  [{ route: '/b', status: '429' }, 0.2],
];

test("FastHistogram renders and reads exactly as prom-client's Histogram for the same observations", async () => {
  const a = new Registry();
  const b = new Registry();
  const theirs = new Histogram({ ...cfg, labelNames: [...cfg.labelNames], registers: [a] });
  const ours = new FastHistogram({ ...cfg, registers: [b] });
  for (const [labels, v] of observations) {
    theirs.labels(labels).observe(v);
    // Both ways of naming a child reach the same one.
    (v > 1 ? ours.labels(labels.route, labels.status) : ours.labels(labels)).observe(v);
  }
  assert.equal(await b.metrics(), await a.metrics());
  // The same values; prom-client adds an `exemplar` slot (always empty here), which this one leaves out.
  const theirValues = (await theirs.get()).values.map((v) => {
    const { exemplar: _e, ...rest } = v as typeof v & { exemplar?: unknown };
    return rest;
  });
  assert.deepEqual((await ours.get()).values, theirValues);
  assert.match(await b.metrics(), /demo_seconds_bucket\{le="0.001",route="\/a",status="200"\} 2/);
  ours.reset();
  theirs.reset();
  assert.doesNotMatch(await b.metrics(), /status="429"\} [1-9]/);
  assert.throws(() => ours.labels({ nope: 'x' } as never), /histogram demo_seconds has no label "nope"/);
});
