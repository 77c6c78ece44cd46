/**
 * The request-reply bridge on Kafka across two processes: `sluice serve` (HTTP, no state)
 * sends each record to the request topic keyed by its entity key; `sluice run` (the job
 * that owns the state) answers on the reply topic. Also: 504 when the owner is paused, and
 * an owner killed mid-request (504, the server stays healthy; a restarted owner answers
 * again from its restored state).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { KAFKA_BROKERS, kafkaAvailable, produceTo, testKafka, uniqueName } from './helpers.js';
import { startCli as start, stopCli as stop, type CliProcess as Proc } from './processes.js';

const MODEL = resolve('models/small-mlp.onnx');

test('bridge over Kafka between two processes: answers from the owner\'s state, 504 on timeout, an owner that dies mid-request', { timeout: 240_000 }, async (t) => {
  if (!(await kafkaAvailable(t))) return;
  const dir = await mkdtemp(join(tmpdir(), 'sluice-kafka-bridge-'));
  const name = uniqueName('bridge');
  const input = uniqueName('txns');
  const procs: Proc[] = [];
  try {
    await writeFile(join(dir, 'connection.json'), JSON.stringify({ kafka: { brokers: KAFKA_BROKERS, topics: { create: true, partitions: 1, replicationFactor: 1 }, retry: { retries: 5, initialRetryTimeMs: 100, maxRetryTimeMs: 2000 } } }));
    await writeFile(
      join(dir, 'topology.json'),
      JSON.stringify({
        name,
        models: { risk: { path: MODEL, workers: 1 } },
        sources: { txns: { type: 'topic', topic: input, partitions: 1 } },
        pipeline: [
          { keyBy: { key: 'card' } },
          { aggregate: { id: 'per-card', aggregates: { n: { count: {} }, total: { sum: 'amount' } } } },
          { map: { id: 'features', set: { f0: 'amount', f1: 'n', f2: 'total', f3: '0', f4: '0', f5: '0', f6: '0', f7: '0' } } },
          { score: { id: 'risk', model: 'risk', features: ['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7'], outputs: { risk: 'score' } } },
          { sink: 'scored' },
        ],
        sinks: { scored: { type: 'topic', topic: uniqueName('scored') }, dlq: { type: 'topic', topic: uniqueName('dlq') } },
        deadLetter: 'dlq',
        online: { mode: 'bridge', port: 0 },
      }),
    );
    const kafka = testKafka();
    await produceTo(kafka, input, 1, Array.from({ length: 12 }, (_, i) => ({ value: { card: `c${i % 3}`, amount: i } })));
    const conn = ['--connection', join(dir, 'connection.json')];
    const topo = join(dir, 'topology.json');
    const ownerArgs = ['run', topo, ...conn, '--data-dir', join(dir, 'owner')];
    let owner = await start(ownerArgs, /bridge: answering requests/);
    procs.push(owner);
    const server = await start(['serve', topo, ...conn, '--port', '0'], /online: (http:\/\/\S+)/);
    procs.push(server);
    const url = server.match[1]!;
    const score = (body: unknown, timeoutMs = 5000) => fetch(`${url}/v1/topologies/${name}/score`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', 'sluice-timeout-ms': String(timeoutMs) } });

    // The owner reads its input in the background: ask until its state holds all of c1's records (1, 4, 7, 10).
    let answer: { value?: { n: number; total: number } } = {};
    for (let i = 0; i < 120 && answer.value?.n !== 5; i++) {
      const r = await score({ card: 'c1', amount: 100 });
      if (r.status === 200) answer = (await r.json()) as typeof answer;
      else await new Promise((res) => setTimeout(res, 250));
    }
    assert.deepEqual(answer.value && { n: answer.value.n, total: answer.value.total }, { n: 5, total: 122 }, server.log());
    const many = await score([{ card: 'c0', amount: 1 }, { card: 'c2', amount: 1 }]);
    const results = ((await many.json()) as { results: { value: { n: number } }[] }).results;
    assert.deepEqual(results.map((x) => x.value.n), [5, 5]);

    // A paused owner: 504 at the deadline; the server stays ready.
    owner.child.kill('SIGSTOP');
    const t0 = Date.now();
    const paused = await score({ card: 'c1', amount: 1 }, 400);
    assert.equal(paused.status, 504);
    assert.ok(Date.now() - t0 < 3000);
    owner.child.kill('SIGCONT');

    // An owner killed mid-request: the request gets 504, the server stays healthy.
    const inFlight = score({ card: 'c1', amount: 1 }, 1500);
    owner.child.kill('SIGKILL');
    assert.equal((await inFlight).status, 504);
    await owner.exited;
    assert.equal((await fetch(`${url}/v2/health/ready`)).status, 200);

    // A restarted owner answers again, from the state it restores.
    owner = await start(ownerArgs, /bridge: answering requests/);
    procs.push(owner);
    let again = 0;
    let n: number | undefined;
    for (let i = 0; i < 160 && again !== 200; i++) {
      const r = await score({ card: 'c1', amount: 100 }, 1000);
      again = r.status;
      if (again === 200) n = ((await r.json()) as { value: { n: number } }).value.n;
    }
    assert.equal(again, 200, owner.log());
    assert.equal(n, 5);
  } finally {
    for (const p of procs.reverse()) await stop(p);
    await rm(dir, { recursive: true, force: true });
  }
});
