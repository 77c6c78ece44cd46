// Scale-out for real: three `sluice run` processes in one consumer group on a 6-partition input
// with a stateful topology (aggregate + window + score); one is killed with SIGKILL mid-stream
// and not restarted. The survivors take its partitions and restore their state from the
// changelogs, and the output read read_committed holds exactly one result per input, with the
// same values as one process running the same input.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { KAFKA_BROKERS, dropTopics, jsonValues, kafkaAvailable, produceTo, readTopic, testKafka, uniqueName } from './helpers.js';
import { SluiceProcess, waitFor } from './processes.js';

const N = Number(process.env.SCALE_N ?? 12_000);
const KEYS = 120;

function topologyYaml(name: string, input: string, output: string): string {
  return `name: ${name}
models: { m: { path: ${resolve('models/small-mlp.onnx')}, workers: 1 } }
sources: { in: { type: topic, topic: ${input} } }
pipeline:
  - aggregate: { id: running, aggregates: { n: { count: {} }, total: { sum: amount } } }
  - window: { id: hourly, window: { tumbling: 1h }, aggregates: { spend: { sum: amount }, cnt: { count: {} } }, emit: enrich }
  - score: { model: m, features: [amount, n, total, spend, cnt, amount, n, total], outputs: { score: score }, missing: { fill: 0 } }
  - sink: out
sinks: { out: { type: topic, topic: ${output}, partitions: 3 } }
onError: fail
runtime: { guarantee: exactlyOnce, batchSize: 100, checkpointIntervalMs: 200 }
`;
}

test('three processes, one SIGKILLed mid-stream: survivors take over with state, exactly one result per input', { timeout: 300_000 }, async (t) => {
  if (!(await kafkaAvailable(t))) return;
  const kafka = testKafka();
  const input = uniqueName('scale-in');
  const dir = await mkdtemp(join(tmpdir(), 'sluice-scale-'));
  const procs: SluiceProcess[] = [];
  const topics: string[] = [input];
  const topologies: string[] = [];
  try {
    const conn = join(dir, 'kafka.yaml');
    await writeFile(conn, `kafka:\n  brokers: [${KAFKA_BROKERS.join(', ')}]\n  retry: { retries: 8, initialRetryTimeMs: 100, maxRetryTimeMs: 2000 }\n`);
    // Recent event times (the test broker keeps records for an hour by their timestamps), 100 ms apart.
    const t0 = Date.now() - 30 * 60_000;
    const rows = Array.from({ length: N }, (_, i) => ({ key: `u${i % KEYS}`, value: { i, amount: (i % 97) + 1 }, timestamp: t0 + i * 100 }));
    await produceTo(kafka, input, 6, []);

    const output = uniqueName('scale-out');
    const topo = join(dir, 'scale.yaml');
    const scaleName = uniqueName('scale');
    topics.push(output);
    topologies.push(scaleName);
    await writeFile(topo, topologyYaml(scaleName, input, output));
    for (let p = 0; p < 3; p++) procs.push(new SluiceProcess(['run', topo, '--connection', conn, '--data-dir', join(dir, `data-${p}`)]));
    const logs = () => procs.map((p, i) => `--- process ${i} ---\n${p.log.slice(-3000)}`).join('\n');
    await waitFor('the three members to own two partitions each', () => procs.every((p) => p.owned.size === 2), 120_000, logs);

    // Input arrives while they run; the kill is triggered by committed output, not by a timer.
    const producing = (async () => {
      for (let i = 0; i < N; i += 1000) await produceTo(kafka, input, 6, rows.slice(i, i + 1000));
    })();
    const committed = async () => (await readTopic(kafka, output).catch(() => [])).length;
    await waitFor('a third of the results to be committed', async () => (await committed()) >= N / 3, 120_000, logs);
    const victim = procs[1]!;
    const victimParts = [...victim.owned];
    victim.kill('SIGKILL');
    assert.equal((await victim.exited).signal, 'SIGKILL');
    await producing;
    await waitFor('the survivors to take over the victim\'s partitions', () => procs[0]!.owned.size + procs[2]!.owned.size === 6, 120_000, logs);
    await waitFor('every input to be scored', async () => (await committed()) >= N, 180_000, logs);
    for (const p of [procs[0]!, procs[2]!]) p.kill('SIGTERM');
    for (const p of [procs[0]!, procs[2]!]) assert.equal((await p.exited).code, 0, logs());
    const survivorsLog = procs[0]!.log + procs[2]!.log;
    for (const tp of victimParts) assert.match(survivorsLog, new RegExp(`now owns .*${tp.replace(/[[\]]/g, '\\$&')}`), `a survivor took ${tp}`);
    assert.match(survivorsLog, /restored state from changelogs/);

    const scaled = jsonValues(await readTopic(kafka, output));
    assert.equal(scaled.length, N, 'exactly one result per input record (read_committed)');
    const byI = new Map(scaled.map((v) => [v.i as number, v]));
    assert.equal(byI.size, N, 'no input scored twice');

    // The same input through one process, under another topology name (its own group and changelogs).
    const single = uniqueName('single-out');
    const singleTopo = join(dir, 'single.yaml');
    const singleName = uniqueName('single');
    topics.push(single);
    topologies.push(singleName);
    await writeFile(singleTopo, topologyYaml(singleName, input, single));
    const one = new SluiceProcess(['run', singleTopo, '--connection', conn, '--data-dir', join(dir, 'single'), '--until-idle']);
    assert.equal((await one.exited).code, 0, one.log);
    const reference = jsonValues(await readTopic(kafka, single));
    assert.equal(reference.length, N);
    for (const r of reference) assert.deepEqual(byI.get(r.i as number), r, `input ${String(r.i)}: same values as a single-process run`);
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    await dropTopics(kafka, topics, topologies);
    await rm(dir, { recursive: true, force: true });
  }
});
