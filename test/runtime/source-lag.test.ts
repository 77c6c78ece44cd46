import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedLog } from '../../connectors/embedded/index.js';
import { memoryLogger } from '../../src/core/logger.js';
import { createMetrics } from '../../src/metrics/registry.js';
import { Job } from '../../src/runtime/job.js';
import { topology } from '../../src/topology/builder.js';

test('embedded topics report sluice_source_lag_records per partition', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-lag-'));
  const log = await EmbeddedLog.open(dir);
  try {
    await log.createTopic('in', 2);
    await log.produce('in', Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: JSON.stringify({ i }), timestamp: 1 })));
    const def = topology('lag').source('in', { type: 'topic', topic: 'in' }).to('out').sink('out', { type: 'topic', topic: 'out' }).onError('fail').runtime({ batchSize: 3 }).build();
    const seen: number[] = [];
    const metrics = createMetrics();
    const gauge = metrics.sourceLag;
    const set = gauge.set.bind(gauge);
    // Record every value the job reports, to see the lag fall as it reads.
    gauge.set = ((labels: Record<string, string>, v: number) => {
      seen.push(v);
      return set(labels, v);
    }) as typeof gauge.set;
    await (await Job.start(def, { log, untilIdle: true, metrics, logger: memoryLogger() })).done;
    const values = (await metrics.registry.getSingleMetric('sluice_source_lag_records')!.get()).values;
    assert.deepEqual(values.map((v) => [v.labels.topic, v.labels.partition, v.value]).sort(), [['in', '0', 0], ['in', '1', 0]]);
    assert.ok(seen.some((v) => v > 0), 'the lag was above zero while records were left');
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
});
