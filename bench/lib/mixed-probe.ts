// A short mixed-load run for a loaded machine: starts the online server (flight model) with
// or without a backfill in its process, offers a fixed request rate for a few seconds and
// prints the server's probe (event-loop delay, online model-call times, backfill rows/s)
// beside the client's latencies.
//   node dist/bench/lib/mixed-probe.js [--backfill] [--rate N] [--seconds S] [--load 0]
// --load 0: no online requests (the backfill's own throughput).
// --bridge embedded|kafka: load the topology endpoint through the request-reply bridge instead
// (Kafka at KAFKA_BROKERS); the probe then also breaks each request's time down by hop.
// PROBE_NODE_ARGS: node flags for the server (e.g. "--cpu-prof --cpu-prof-dir=DIR").
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateLoad } from './load-generator.js';
import { FLIGHT_RECORD, MODELS, sampleRow } from './online-server.js';

const { values } = parseArgs({ options: { backfill: { type: 'boolean', default: false }, rate: { type: 'string', default: '200' }, seconds: { type: 'string', default: '6' }, load: { type: 'string', default: '1' }, bridge: { type: 'string' } } });
const SERVER = fileURLToPath(new URL('./online-server.js', import.meta.url));
const child = spawn(process.execPath, [...(process.env.PROBE_NODE_ARGS ?? '').split(' ').filter(Boolean), SERVER, 'sluice', 'flight', ...(values.backfill ? ['--backfill'] : []), ...(values.bridge ? ['--bridge', values.bridge] : [])], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, BENCH_ONLINE_PROBE: '1' } });
let out = '';
child.stdout.on('data', (d: Buffer) => (out += d.toString()));
const exited = new Promise<void>((r) => child.once('exit', () => r()));
while (!/LISTENING (\d+)/.test(out)) {
  if (child.exitCode !== null) throw new Error(`server exited: ${out}`);
  await new Promise((r) => setTimeout(r, 50));
}
const port = /LISTENING (\d+)/.exec(out)![1];
const m = MODELS.flight;
let body = JSON.stringify({ inputs: [{ name: m.input, shape: [1, m.width], datatype: 'FP32', data: sampleRow('flight') }] });
const topology = /TOPOLOGY (\S+)/.exec(out)?.[1];
const url = values.bridge ? `http://127.0.0.1:${port}/v1/topologies/${topology}/score` : `http://127.0.0.1:${port}/v2/models/${m.served}/infer`;
if (values.bridge) body = JSON.stringify(FLIGHT_RECORD);
const seconds = Number(values.seconds);

/** The model's batch-size histogram (cumulative counts per bucket, and the sum of rows) from /metrics. */
async function batchRows(): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/sluice_model_batch_rows_(bucket\{le="([^"]+)",model="delay"\}|sum\{model="delay"\}|count\{model="delay"\}) (\S+)/g)) out[m[2] ?? m[1]!.split('{')[0]!] = Number(m[3]);
  return out;
}
const diff = (a: Record<string, number>, b: Record<string, number>) => Object.fromEntries(Object.entries(b).map(([k, v]) => [k, v - (a[k] ?? 0)]));
let before: Record<string, number> = {};
let client: unknown = null;
if (values.load !== '0') {
  await generateLoad({ url, body, connections: 64, seconds: 2, rate: Number(values.rate) }); // warm-up; also lets the backfill start
  child.kill('SIGUSR2');
  before = await batchRows();
  const r = await generateLoad({ url, body, connections: 64, seconds, rate: Number(values.rate) });
  client = { rps: Math.round(r.requestsPerSecond), p50: r.latencyP50Ms, p99: r.latencyP99Ms, max: r.latencyMaxMs, non2xx: r.non2xx, errors: r.errors };
} else {
  await new Promise((r) => setTimeout(r, 2000));
  child.kill('SIGUSR2');
  before = await batchRows();
  await new Promise((r) => setTimeout(r, seconds * 1000));
}
const batches = diff(before, await batchRows());
child.kill('SIGTERM');
await exited;
const probe = JSON.parse(/PROBE (.*)/.exec(out)?.[1] ?? 'null') as unknown;
console.log(JSON.stringify({ backfill: values.backfill, rate: Number(values.rate), load: values.load !== '0', client, probe, batches: { calls: batches.count, avgRows: Math.round(batches.sum! / batches.count!), over512Rows: batches.count! - batches['512']! }, backfills: Number(/BACKFILLS (\d+)/.exec(out)?.[1] ?? NaN) }));
