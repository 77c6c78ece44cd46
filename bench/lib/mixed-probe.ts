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

/** A histogram's cumulative bucket counts, sum and count from /metrics (`labels`: its label text, e.g. model="delay"). */
async function histogram(name: string, labels: string): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || !line.includes(labels)) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    const kind = line.slice(name.length + 1, line.indexOf('{'));
    out[le ?? kind] = Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return out;
}
const snapshot = async () => ({ model: await histogram('sluice_model_batch_rows', 'model="delay"'), step: await histogram('sluice_operator_batch_size', 'operator="bulk"') });
/** Calls (batches) in the window, their mean rows, and how many held more than 512 rows. */
const summary = (a: Record<string, number>, b: Record<string, number>) => {
  const d = (k: string) => (b[k] ?? 0) - (a[k] ?? 0);
  return { calls: d('count'), avgRows: Math.round(d('sum') / d('count')), over512Rows: d('count') - d('512') };
};
// The window: from 1.5 s into the measured load (or wait) to 0.5 s before its end, so it holds only steady state.
let client: unknown = null;
const running = values.load !== '0'
  ? generateLoad({ url, body, connections: 64, seconds: 2, rate: Number(values.rate) }).then(() => generateLoad({ url, body, connections: 64, seconds, rate: Number(values.rate) }))
  : new Promise<null>((r) => setTimeout(() => r(null), (2 + seconds) * 1000));
// The warm-up (also lets the backfill start), then the measured run's first 1.5 s (autocannon starting).
await new Promise((r) => setTimeout(r, values.load !== '0' ? 2000 : 2000));
await new Promise((r) => setTimeout(r, 1500));
child.kill('SIGUSR2');
const before = await snapshot();
await new Promise((r) => setTimeout(r, Math.max(1, seconds - 2) * 1000));
const after = await snapshot();
child.kill('SIGUSR1');
const r = await running;
if (r) client = { rps: Math.round(r.requestsPerSecond), p50: r.latencyP50Ms, p99: r.latencyP99Ms, max: r.latencyMaxMs, non2xx: r.non2xx, errors: r.errors };
const batches = { model: summary(before.model, after.model), backfillStep: summary(before.step, after.step) };
child.kill('SIGTERM');
await exited;
const probe = JSON.parse(/PROBE (.*)/.exec(out)?.[1] ?? 'null') as unknown; // the first: SIGUSR1's window
console.log(JSON.stringify({ backfill: values.backfill, rate: Number(values.rate), load: values.load !== '0', client, probe, batches, backfills: Number(/BACKFILLS (\d+)/.exec(out)?.[1] ?? NaN) }));
