/**
 * `run --serve` in one process: requests read the running job's keyed state, including
 * changes not yet checkpointed, and never change it (the request path is read-only).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedLog } from '../../connectors/embedded/index.js';
import { memoryLogger } from '../../src/core/logger.js';
import { createMetrics } from '../../src/metrics/registry.js';
import { createOnlineService } from '../../src/online/service.js';
import { Job, asLoaded } from '../../src/runtime/job.js';
import type { TopologyDefinition } from '../../src/topology/schema.js';
import { ROOT, SMALL_MLP } from './helpers.js';

const def = {
  name: 'cards',
  models: { risk: { path: SMALL_MLP, workers: 1 } },
  sources: { txns: { type: 'topic', topic: 'txns', partitions: 2 } },
  pipeline: [
    // Keyed by the producer key (the card): two partitions, each card's state in one task.
    { aggregate: { id: 'per-card', aggregates: { n: { count: {} }, total: { sum: 'amount' } } } },
    { map: { id: 'features', set: { f0: 'amount', f1: 'n', f2: 'total', f3: '0', f4: '0', f5: '0', f6: '0', f7: '0' } } },
    { score: { id: 'risk', model: 'risk', features: ['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7'], outputs: { risk: 'score' } } },
    { sink: 'scored' },
  ],
  sinks: { scored: { type: 'topic', topic: 'scored' }, dlq: { type: 'topic', topic: 'dlq' } },
  deadLetter: 'dlq',
  // A long interval: the state the requests read is not committed yet.
  runtime: { checkpointIntervalMs: 600_000, batchSize: 16 },
} as unknown as TopologyDefinition;

test('requests read the live job\'s uncommitted keyed state and leave it unchanged', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-online-live-'));
  const log = await EmbeddedLog.open(join(dir, 'data'));
  try {
    const loaded = asLoaded(def, ROOT);
    await log.createTopic('txns', 2);
    const cards = ['c1', 'c2', 'c3'];
    await log.produce('txns', Array.from({ length: 30 }, (_, i) => ({ key: cards[i % 3]!, value: JSON.stringify({ amount: i }), timestamp: i })));
    const job = await Job.start(loaded, { log, logger: memoryLogger() });
    const service = await createOnlineService(loaded, { log, job, metrics: createMetrics(), logger: memoryLogger() });
    try {
      // Wait until the job has read all 30 records (its sink output is staged, not committed).
      for (let i = 0; i < 200 && job.recordsRead() < 30; i++) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(job.recordsRead(), 30);
      // c2 has amounts 1, 4, ..., 28 (10 records, sum 145); a request for it with amount 100 counts itself too.
      // Requests carry no producer key, so the topology's key comes from a keyBy: here, the request names it.
      const ask = () => service.path.answer([{ amount: 100 }], {});
      // Without a key the aggregate cannot answer: the error names the step.
      const [noKey] = await ask();
      assert.ok('error' in noKey! && noKey.error.step === 'per-card', JSON.stringify(noKey));
      // A request may carry the key itself (the producer's key): in an envelope, or as a header for one record.
      const own = (payload: unknown, headers: Record<string, string> = {}) => service.app.inject({ method: 'POST', url: '/v1/topologies/cards/score', payload: payload as Record<string, unknown>, headers: { 'content-type': 'application/json', ...headers } });
      const viaHeader = (await own({ amount: 100 }, { 'sluice-key': 'c2' })).json();
      assert.equal(viaHeader.value.n, 11, JSON.stringify(viaHeader));
      assert.equal(viaHeader.key, 'c2');
      const mixed = (await own([{ key: 'c2', record: { amount: 100 } }, { key: 'c1', record: { amount: 0 } }, { amount: 1 }, { key: ['x'], record: { amount: 1 } }])).json();
      assert.equal(mixed.results[0].value.n, 11);
      assert.equal(mixed.results[0].value.total, 245);
      // c1: amounts 0, 3, ..., 27 (10 records, sum 135).
      assert.equal(mixed.results[1].value.n, 11);
      assert.equal(mixed.results[1].value.total, 135);
      assert.equal(mixed.results[2].error.step, 'per-card');
      assert.match(mixed.results[2].error.message, /no key/);
      assert.equal(mixed.results[3].error.code, 'INVALID_INPUT');
      assert.match(mixed.results[3].error.message, /"key" must be a string/);
      const headerOnArray = await own([{ amount: 1 }], { 'sluice-key': 'c2' });
      assert.equal(headerOnArray.statusCode, 400);
      assert.match(headerOnArray.json().error.message, /sluice-key/);
      const keyed = asLoaded({ ...def, pipeline: [{ keyBy: { key: 'card' } }, ...def.pipeline] } as TopologyDefinition, ROOT);
      // Same state namespace (same name and step ids) read through a topology with a keyBy in front.
      const byKey = await createOnlineService(keyed, { log, job, metrics: createMetrics(), logger: memoryLogger() });
      try {
        const score = (card: string) => byKey.app.inject({ method: 'POST', url: '/v1/topologies/cards/score', payload: { card, amount: 100 } });
        const first = (await score('c2')).json();
        assert.equal(first.route, 'scored', JSON.stringify(first));
        assert.equal(first.value.n, 11);
        assert.equal(first.value.total, 245);
        // Read-only: asking again gives the same, and the job's own state did not move.
        const again = (await score('c2')).json();
        assert.equal(again.value.n, 11);
        const unknown = (await score('c9')).json();
        assert.equal(unknown.value.n, 1);
        assert.equal(unknown.value.total, 100);
      } finally {
        await byKey.close();
      }
      // The stream goes on from its own state: one more c2 record counts 11, not 13.
      await log.produce('txns', [{ key: 'c2', value: JSON.stringify({ amount: 5 }), timestamp: 99 }]);
      for (let i = 0; i < 200 && job.recordsRead() < 31; i++) await new Promise((r) => setTimeout(r, 10));
    } finally {
      await service.close();
      const summary = await job.stop();
      assert.equal(summary.status, 'stopped');
    }
    const out: { n: number; total: number }[] = [];
    for (const r of await log.read('scored', 0, 0, 1000)) if (r.key === 'c2') out.push(JSON.parse(String(r.value)) as { n: number; total: number });
    assert.deepEqual(out.at(-1), { ...out.at(-1), n: 11, total: 150 });
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
});
