/**
 * The request-reply bridge on Kafka with several owners in one consumer group: two
 * `sluice run` processes share a 3-partition input keyed by the producer's key, and the
 * request topic is co-partitioned with it, so a request reaches the task that owns its
 * key's partition. Requests carry their key (the topology has no keyBy). An owner killed
 * mid-request gives 504; after the rebalance the survivor answers for every key, from the
 * state it restored from the changelog.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { partitionOfKey } from '../../../connectors/embedded/index.js';
import { KAFKA_BROKERS, kafkaAvailable, produceTo, testKafka, uniqueName } from './helpers.js';
import { startCli as start, stopCli as stop, type CliProcess as Proc } from './processes.js';

const MODEL = resolve('models/small-mlp.onnx');

/** The partitions of `topic` a process owns now, by its rebalance lines (gained minus taken away). */
function owned(log: string, topic: string): number[] {
  const now = new Set<number>();
  const tps = (text: string) => [...text.matchAll(new RegExp(`${topic}\\[(\\d+)\\]`, 'g'))].map((m) => Number(m[1]));
  for (const line of log.split('\n')) {
    const gained = /now owns (.*) of group/.exec(line);
    const lost = /took (.*) from this instance/.exec(line);
    if (gained) for (const p of tps(gained[1]!)) now.add(p);
    if (lost) for (const p of tps(lost[1]!)) now.delete(p);
  }
  return [...now].sort();
}

test('bridge over Kafka with two owners in one group: each key answered from the state of the task that owns it; a killed owner gives 504, then the survivor answers', { timeout: 300_000 }, async (t) => {
  if (!(await kafkaAvailable(t))) return;
  const dir = await mkdtemp(join(tmpdir(), 'sluice-kafka-bridge-group-'));
  const name = uniqueName('bridgeg');
  const input = uniqueName('txns');
  const PARTS = 3;
  const procs: Proc[] = [];
  try {
    await writeFile(join(dir, 'connection.json'), JSON.stringify({ kafka: { brokers: KAFKA_BROKERS, topics: { create: true, partitions: PARTS, replicationFactor: 1 }, retry: { retries: 5, initialRetryTimeMs: 100, maxRetryTimeMs: 2000 } } }));
    await writeFile(
      join(dir, 'topology.json'),
      JSON.stringify({
        name,
        models: { risk: { path: MODEL, workers: 1 } },
        sources: { txns: { type: 'topic', topic: input, partitions: PARTS } },
        // No keyBy: state is keyed by the producer's key, so requests give their key themselves.
        pipeline: [
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
    // Nine cards spread over the three partitions; card i gets i + 1 records of amount 10 each.
    const cards = Array.from({ length: 9 }, (_, i) => `card-${i}`);
    assert.equal(new Set(cards.map((c) => partitionOfKey(c, PARTS))).size, PARTS, 'the cards cover every partition');
    const records = cards.flatMap((c, i) => Array.from({ length: i + 1 }, () => ({ key: c, value: { card: c, amount: 10 } })));
    await produceTo(testKafka(), input, PARTS, records);
    const expected = new Map(cards.map((c, i) => [c, { n: i + 2, total: (i + 1) * 10 + 1 }]));

    const conn = ['--connection', join(dir, 'connection.json')];
    const topo = join(dir, 'topology.json');
    const a = await start(['run', topo, ...conn, '--data-dir', join(dir, 'a')], /bridge: answering requests/);
    procs.push(a);
    const b = await start(['run', topo, ...conn, '--data-dir', join(dir, 'b')], /bridge: answering requests/);
    procs.push(b);
    const server = await start(['serve', topo, ...conn, '--port', '0'], /online: (http:\/\/\S+)/);
    procs.push(server);
    const url = server.match[1]!;
    const score = (body: unknown, timeoutMs = 3000, headers: Record<string, string> = {}) => fetch(`${url}/v1/topologies/${name}/score`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', 'sluice-timeout-ms': String(timeoutMs), ...headers } });
    type Answer = { value?: { n: number; total: number }; error?: { code: string } };
    const askAll = async (): Promise<Map<string, { n: number; total: number } | undefined>> => {
      const r = await score(cards.map((c) => ({ key: c, record: { card: c, amount: 1 } })));
      if (r.status !== 200) return new Map();
      const results = ((await r.json()) as { results: Answer[] }).results;
      return new Map(cards.map((c, i) => [c, results[i]!.value && { n: results[i]!.value!.n, total: results[i]!.value!.total }]));
    };
    const waitForAll = async (what: string) => {
      let got = new Map<string, { n: number; total: number } | undefined>();
      for (let i = 0; i < 240; i++) {
        got = await askAll();
        if (cards.every((c) => got.get(c)?.n === expected.get(c)!.n && got.get(c)?.total === expected.get(c)!.total)) return;
        await new Promise((res) => setTimeout(res, 250));
      }
      assert.deepEqual(Object.fromEntries(got), Object.fromEntries(expected), `${what}\n--- a:\n${a.log()}\n--- b:\n${b.log()}\n--- server:\n${server.log()}`);
    };

    // Both owners hold input partitions, and every key is answered from its owner's state
    // (a request read by another task would see no state: n 1).
    // b joins after a: wait for the rebalance that splits the partitions (a alone may answer everything before it).
    for (let i = 0; i < 240 && !(owned(a.log(), input).length && owned(b.log(), input).length && owned(a.log(), input).length + owned(b.log(), input).length === PARTS); i++) await new Promise((res) => setTimeout(res, 250));
    await waitForAll('both owners answering');
    const ownedA = owned(a.log(), input);
    const ownedB = owned(b.log(), input);
    assert.ok(ownedA.length > 0 && ownedB.length > 0, `both owners own input partitions (a: ${ownedA}, b: ${ownedB})`);
    assert.deepEqual([...ownedA, ...ownedB].sort(), [0, 1, 2]);
    // Each owner also owns the same request partitions as input partitions (co-partitioned).
    assert.deepEqual(owned(a.log(), `${name}-requests`).sort(), [...ownedA].sort());
    // The key as a header, for a one-record body.
    const single = await score({ card: 'card-3', amount: 1 }, 3000, { 'sluice-key': 'card-3' });
    assert.equal(single.status, 200);
    assert.equal(((await single.json()) as Answer).value?.n, expected.get('card-3')!.n);
    // Without a key the stateful step says so, in the record's slot.
    const keyless = await score({ card: 'card-3', amount: 1 });
    assert.equal(keyless.status, 400);
    assert.match(JSON.stringify(await keyless.json()), /no key/);

    // Owner a, paused then killed with a request for one of its keys in flight: 504.
    const victimKey = cards.find((c) => ownedA.includes(partitionOfKey(c, PARTS)))!;
    a.child.kill('SIGSTOP');
    const inFlight = score({ key: victimKey, record: { card: victimKey, amount: 1 } }, 1500);
    await new Promise((res) => setTimeout(res, 300));
    a.child.kill('SIGKILL');
    assert.equal((await inFlight).status, 504);
    await a.exited;
    // Owner b's keys are still answered meanwhile.
    const bKey = cards.find((c) => ownedB.includes(partitionOfKey(c, PARTS)))!;
    const stillB = await score({ key: bKey, record: { card: bKey, amount: 1 } });
    assert.equal(stillB.status, 200);
    assert.equal(((await stillB.json()) as Answer).value?.n, expected.get(bKey)!.n);

    // After the rebalance b owns every partition and answers for a's keys too, from the restored state.
    await waitForAll('the survivor answering after the rebalance');
    assert.deepEqual(owned(b.log(), input).sort(), [0, 1, 2]);
  } finally {
    for (const p of procs.reverse()) await stop(p);
    await rm(dir, { recursive: true, force: true });
  }
});
