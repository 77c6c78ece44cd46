// Server CPU per request for the online routes, which survives a loaded machine where
// requests/s does not: each server runs in its own process, autocannon (another process)
// sends a fixed number of requests at 64 connections, and the server's utime+stime from
// /proc/<pid>/stat (all of its threads: main, libuv, onnxruntime workers) is read before
// and after. Usage (after `npm run build`):
//   node scripts/online-cpu.mjs [ROUTE ...] [--requests N] [--repeats R]
// ROUTE: bare, v2-flight, topology-flight, v2-wide, naive-wide (default: all).
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(args[i + 1]);
  args.splice(i, 2);
  return v;
};
const REQUESTS = opt('--requests', 20000);
const REPEATS = opt('--repeats', 3);
const CONNECTIONS = opt('--connections', 64);
const TICK_MS = 1000 / Number(spawnSync('getconf', ['CLK_TCK']).stdout.toString().trim() || 100);

const flightRow = [14, 850, 3, 6, 12, 337, 101, 402, 7.5];
const { sampleRow, FLIGHT_RECORD } = await import(resolve('dist/bench/lib/online-server.js'));
const infer = (name, row) => JSON.stringify({ inputs: [{ name: 'features', shape: [1, row.length], datatype: 'FP32', data: row }] });
const ROUTES = {
  bare: { server: ['dist/bench/lib/fastify-ceiling.js', '--serve'], path: '/score', body: JSON.stringify({ features: [0.5, -1.25, 3, 0.75, -0.1, 2.5, 1, -2] }) },
  'v2-flight': { server: ['dist/bench/lib/online-server.js', 'sluice', 'flight'], path: '/v2/models/delay/infer', body: infer('delay', flightRow) },
  'topology-flight': { server: ['dist/bench/lib/online-server.js', 'sluice', 'flight'], path: '/v1/topologies/flight-delay/score', body: JSON.stringify(FLIGHT_RECORD) },
  'v2-wide': { server: ['dist/bench/lib/online-server.js', 'sluice', 'wide'], path: '/v2/models/wide/infer', body: infer('wide', sampleRow('wide')) },
  'naive-wide': { server: ['dist/bench/lib/online-server.js', 'naive', 'wide'], path: '/v2/models/wide/infer', body: infer('wide', sampleRow('wide')) },
};

/** utime+stime of the whole process (all threads), or of its main thread alone with `main`. */
function cpuMs(pid, main = false) {
  const f = readFileSync(main ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_MS; // utime, stime (fields 14, 15)
}

function start(argv) {
  const child = spawn(process.execPath, [...(process.env.SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []), ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  return new Promise((res, rej) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = /LISTENING (\d+)/.exec(out);
      if (m) res({ child, port: Number(m[1]) });
    });
    child.once('exit', (c) => rej(new Error(`server exited ${c}`)));
  });
}

function cannon(port, route, amount) {
  const r = spawnSync(resolve('node_modules/.bin/autocannon'), ['-c', String(CONNECTIONS), '-a', String(amount), '-m', 'POST', '-H', 'content-type=application/json', '-b', route.body, '--json', `http://127.0.0.1:${port}${route.path}`], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const j = JSON.parse(r.stdout);
  if (j.errors || j.non2xx || j.timeouts) throw new Error(`${route.path}: ${j.errors} errors ${j.non2xx} non-2xx ${j.timeouts} timeouts`);
  return j;
}

/** Rows and inference calls so far of the served models (sluice servers), from /metrics. */
async function batches(port) {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => (r.ok ? r.text() : ''), () => '');
  const sum = (s) => [...text.matchAll(new RegExp(`^sluice_model_batch_rows_${s}\\{[^}]*\\} (\\S+)`, 'gm'))].reduce((a, m) => a + Number(m[1]), 0);
  return { rows: sum('sum'), calls: sum('count') };
}

/** CPU ms per thread name (comm), all threads of `pid`. */
function threadsMs(pid) {
  const out = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const raw = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = `${raw.slice(raw.indexOf("(") + 1, raw.lastIndexOf(")"))}:${tid === String(pid) ? "main" : tid}`;
      const f = raw.split(') ')[1].split(' ');
      out[name] = (out[name] ?? 0) + (Number(f[11]) + Number(f[12])) * TICK_MS;
    } catch {}
  }
  return out;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pick = args.length ? args : Object.keys(ROUTES);
for (const name of pick) {
  const route = ROUTES[name];
  if (!route) throw new Error(`unknown route ${name}; one of ${Object.keys(ROUTES).join(', ')}`);
  const { child, port } = await start(route.server);
  try {
    cannon(port, route, Math.max(2000, REQUESTS / 4)); // warm up (JIT, sessions)
    const per = [];
    const wallPer = [];
    const batch = [];
    const mainPer = [];
    const rps = [];
    const p99 = [];
    for (let i = 0; i < REPEATS; i++) {
      const b0 = await batches(port);
      const c0 = cpuMs(child.pid);
      const m0 = cpuMs(child.pid, true);
      const th0 = threadsMs(child.pid);
      const t0 = performance.now();
      const j = cannon(port, route, REQUESTS);
      const wall = performance.now() - t0;
      const used = cpuMs(child.pid) - c0;
      if (process.env.THREADS) {
        const th1 = threadsMs(child.pid);
        console.log('  per thread (us/request):', Object.entries(th1).map(([k, v]) => `${k} ${(((v - (th0[k] ?? 0)) * 1000) / j.requests.total).toFixed(1)}`).join(', '));
      }
      mainPer.push(((cpuMs(child.pid, true) - m0) * 1000) / j.requests.total);
      const b1 = await batches(port);
      if (b1.calls > b0.calls) batch.push((b1.rows - b0.rows) / (b1.calls - b0.calls));
      per.push((used * 1000) / j.requests.total);
      rps.push(j.requests.total / (wall / 1000));
      p99.push(j.latency.p99);
      wallPer.push(used / wall);
    }
    console.log(`${name.padEnd(16)} server CPU per request: median ${median(per).toFixed(1)} us  (runs ${per.map((x) => x.toFixed(1)).join(', ')}; main thread ${median(mainPer).toFixed(1)} us; server busy ${(median(wallPer) * 100).toFixed(0)}% of a core over ${REQUESTS} requests; loaded-machine ${median(rps).toFixed(0)} req/s, p99 ${median(p99)} ms${batch.length ? `; avg batch ${median(batch).toFixed(1)} rows` : ''})`);
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}
