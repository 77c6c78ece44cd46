import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EmbeddedLog } from '../../connectors/embedded/index.js';
import { cli, killAtCheckpoint } from '../batch/helpers.js';

const N = 150_000;

async function readAll(log: EmbeddedLog, topic: string): Promise<string[]> {
  const out: string[] = [];
  const info = log.requireTopic(topic);
  for (let p = 0; p < info.partitions; p++) {
    for (let pos = 0; ; ) {
      const recs = await log.read(topic, p, pos, 5000);
      if (!recs.length) break;
      for (const r of recs) out.push(String(r.value));
      pos = recs[recs.length - 1]!.offset + 1;
    }
  }
  return out;
}

test('SIGTERM during a run loses nothing that was acknowledged, and a restart finishes exactly once', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-sigterm-'));
  try {
    const log = await EmbeddedLog.open(join(dir, 'data'));
    await log.createTopic('in', 2);
    for (let i = 0; i < N; i += 5000) {
      const batch = Array.from({ length: 5000 }, (_, j) => ({ key: `k${(i + j) % 101}`, value: JSON.stringify({ id: i + j, f0: j % 7, f1: 1, f2: 2, f3: 3, f4: 4, f5: 5, f6: 6, f7: 7 }), timestamp: 1_700_000_000_000 + i + j }));
      await log.produce('in', batch);
    }
    await log.close();
    const topo = join(dir, 't.yaml');
    await writeFile(
      topo,
      `name: sigterm
models: { m: { path: ${JSON.stringify(resolve('models/small-mlp.onnx'))}, workers: 1 } }
sources: { in: { type: topic, topic: in } }
pipeline:
  - score: { model: m, features: [f0, f1, f2, f3, f4, f5, f6, f7] }
  - sink: out
sinks: { out: { type: topic, topic: out }, dlq: { type: topic, topic: dlq } }
deadLetter: dlq
runtime: { batchSize: 500 }
`,
    );
    // SIGTERM right after the job reports its 20th checkpoint (of about 300: one per batch of 500 per task).
    const first = await cli(['run', topo, '--data-dir', join(dir, 'data')], killAtCheckpoint(20, 'SIGTERM'));
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /status\s+stopped/);

    const mid = await EmbeddedLog.open(join(dir, 'data'));
    const committed = [(await mid.committedOffset('sigterm', 'in', 0)) ?? 0, (await mid.committedOffset('sigterm', 'in', 1)) ?? 0];
    const outAfterStop = (await readAll(mid, 'out')).map((v) => (JSON.parse(v) as { id: number }).id);
    await mid.close();
    const acked = committed[0]! + committed[1]!;
    assert.ok(acked > 0 && acked < N, `the stop should land mid-run (acknowledged ${acked} of ${N})`);
    // Embedded mode commits outputs and positions in one write: what is acknowledged is exactly what was written.
    assert.equal(outAfterStop.length, acked);

    const second = await cli(['run', topo, '--data-dir', join(dir, 'data'), '--until-idle']);
    assert.equal(second.code, 0, second.stderr);
    const check = await EmbeddedLog.open(join(dir, 'data'));
    const ids = (await readAll(check, 'out')).map((v) => (JSON.parse(v) as { id: number }).id);
    await check.close();
    assert.equal(ids.length, N);
    assert.equal(new Set(ids).size, N);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
