/**
 * The request-reply bridge on the embedded log, in one process (`sluice run --serve` with
 * online.mode: bridge): requests go to the request topic keyed by the entity key with
 * correlation id, reply topic and deadline headers; the responder answers from the running
 * job's state; a reply after the deadline is dropped and counted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedLog } from '../../connectors/embedded/index.js';
import { memoryLogger } from '../../src/core/logger.js';
import { createMetrics } from '../../src/metrics/registry.js';
import { embeddedTransport } from '../../src/online/bridge/embedded-transport.js';
import { createOnlineService } from '../../src/online/service.js';
import { Job, asLoaded } from '../../src/runtime/job.js';
import type { TopologyDefinition } from '../../src/topology/schema.js';
import { ROOT, SMALL_MLP } from './helpers.js';

function cards(model: Record<string, unknown> = {}): TopologyDefinition {
  return {
    name: 'cards',
    models: { risk: { path: SMALL_MLP, workers: 1, ...model } },
    sources: { txns: { type: 'topic', topic: 'txns', partitions: 1 } },
    pipeline: [
      { keyBy: { key: 'card' } },
      { aggregate: { id: 'per-card', aggregates: { n: { count: {} }, total: { sum: 'amount' } } } },
      { map: { id: 'features', set: { f0: 'amount', f1: 'n', f2: 'total', f3: '0', f4: '0', f5: '0', f6: '0', f7: '0' } } },
      { score: { id: 'risk', model: 'risk', features: ['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7'], outputs: { risk: 'score' } } },
      { sink: 'scored' },
    ],
    sinks: { scored: { type: 'topic', topic: 'scored' }, dlq: { type: 'topic', topic: 'dlq' } },
    deadLetter: 'dlq',
    online: { port: 0, mode: 'bridge' },
  } as unknown as TopologyDefinition;
}

async function withJob(def: TopologyDefinition, fn: (o: { log: EmbeddedLog; job: Job }) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bridge-'));
  const log = await EmbeddedLog.open(join(dir, 'data'));
  try {
    await log.createTopic('txns', 1);
    await log.produce('txns', Array.from({ length: 12 }, (_, i) => ({ key: null, value: JSON.stringify({ card: `c${i % 3}`, amount: i }), timestamp: i })));
    const job = await Job.start(asLoaded(def, ROOT), { log, logger: memoryLogger() });
    try {
      for (let i = 0; i < 200 && job.recordsRead() < 12; i++) await new Promise((r) => setTimeout(r, 10));
      await fn({ log, job });
    } finally {
      await job.stop();
    }
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
}

test('bridge on the embedded log: keyed requests with headers, answers from the owner\'s state, same as the direct path', { timeout: 60_000 }, async () => {
  await withJob(cards(), async ({ log, job }) => {
    const loaded = asLoaded(cards(), ROOT);
    const transport = embeddedTransport(log);
    const metrics = createMetrics();
    const s = await createOnlineService(loaded, { log, job, metrics, transport, responder: true, logger: memoryLogger() });
    try {
      const r = await s.app.inject({ method: 'POST', url: '/v1/topologies/cards/score', payload: [{ card: 'c1', amount: 100 }, { card: 'c2', amount: 5 }, { amount: 1 }] });
      assert.equal(r.statusCode, 200, r.body);
      const [c1, c2, nokey] = r.json().results;
      // c1 had amounts 1, 4, 7, 10: with this request, 5 records totalling 122.
      assert.equal(c1.value.n, 5);
      assert.equal(c1.value.total, 122);
      assert.equal(c2.value.n, 5);
      assert.equal(nokey.error.step, 'keyBy-0');
      // The same answers as the direct path, bit for bit.
      const direct = await s.path.answer([{ card: 'c1', amount: 100 }, { card: 'c2', amount: 5 }]);
      assert.deepEqual([c1, c2], direct);
      // What went over the request topic: keyed by the entity key, with the three headers.
      const reqs = await log.read('cards-requests', 0, 0, 10);
      assert.deepEqual(reqs.map((m) => m.key), ['c1', 'c2', null]);
      const h = reqs[0]!.headers!;
      assert.match(h['sluice-correlation-id']!, /^[0-9a-f]{8}\.\d+$/);
      assert.equal(h['sluice-reply-topic'], 'cards-replies');
      assert.ok(Number(h['sluice-deadline']) > Date.now() - 60_000);
      assert.deepEqual(JSON.parse(String(reqs[0]!.value)), { record: { card: 'c1', amount: 100 } });
      const replies = await log.read('cards-replies', 0, 0, 10);
      assert.deepEqual(replies.map((m) => m.key), reqs.map((m) => m.headers!['sluice-correlation-id']));
    } finally {
      await s.close();
    }
  });
});

test('bridge: no reply by the deadline is 504; the reply that comes later is dropped and counted', { timeout: 60_000 }, async () => {
  // The model waits 400 ms to fill a batch, so the owner answers after the caller's 100 ms deadline.
  const def = cards({ maxQueueDelayMs: 400, maxBatchSize: 4096 });
  await withJob(def, async ({ log, job }) => {
    const metrics = createMetrics();
    const s = await createOnlineService(asLoaded(def, ROOT), { log, job, metrics, transport: embeddedTransport(log), responder: true, logger: memoryLogger() });
    try {
      const t0 = Date.now();
      const r = await s.app.inject({ method: 'POST', url: '/v1/topologies/cards/score', payload: { card: 'c1', amount: 1 }, headers: { 'sluice-timeout-ms': '100' } });
      assert.equal(r.statusCode, 504);
      assert.equal(r.json().error.code, 'DEADLINE_EXCEEDED');
      assert.ok(Date.now() - t0 < 350, 'answered at the deadline, not when the owner replied');
      let late = '';
      for (let i = 0; i < 100 && !/ 1$/m.test(late); i++) {
        await new Promise((res) => setTimeout(res, 20));
        late = await metrics.registry.getSingleMetricAsString('sluice_online_late_replies_total');
      }
      assert.match(late, /sluice_online_late_replies_total\{topology="cards"\} 1/);
    } finally {
      await s.close();
    }
  });
});
