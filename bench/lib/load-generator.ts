// An HTTP load generator that runs autocannon in its own process, so the load it makes
// does not compete with the caller's event loop (on a small machine it still competes
// for cores with the server under test, which is part of what is measured).
import { spawn } from 'node:child_process';

export interface LoadOptions {
  url: string;
  /** Concurrent keep-alive connections. Default 64. */
  connections?: number;
  /** Seconds of measured load. Default 8. */
  seconds?: number;
  /** Seconds of unmeasured load first (a separate autocannon run). Default 0. */
  warmupSeconds?: number;
  /** Default 'GET', or 'POST' when a body is given. */
  method?: 'GET' | 'POST' | 'PUT';
  /** Request body; sent with `content-type: application/json` unless headers say otherwise. */
  body?: string;
  headers?: Record<string, string>;
  /** Requests in flight per connection (HTTP pipelining). Default 1. */
  pipelining?: number;
  /** A fixed offered rate (requests/s over all connections) instead of as fast as possible. */
  rate?: number;
  /** Seconds before a request counts as timed out. Default autocannon's 10. */
  timeoutSeconds?: number;
}

export interface LoadResult {
  /** Completed requests per second over the measured run (total / seconds). */
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP95Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  requests: number;
  /** Connection errors and timeouts. */
  errors: number;
  timeouts: number;
  non2xx: number;
  seconds: number;
  latencyP90Ms: number;
  latencyP97_5Ms: number;
  /** Responses per HTTP status. */
  statusCodes: Record<string, number>;
}

/** The subset of autocannon's `--json` output read here. */
interface AutocannonJson {
  requests: { total: number; average: number };
  /** p50, p95 and p99 from the child's own samples (autocannon-child.ts); the rest autocannon's. */
  latency: { p50: number; p90: number; p95: number; p97_5: number; p99: number; max: number };
  statusCodeStats?: Record<string, { count: number }>;
  errors: number;
  timeouts: number;
  non2xx: number;
  duration: number;
}

/** The child that runs autocannon and adds p95 (autocannon-child.ts, compiled beside this file). */
const CHILD = new URL('./autocannon-child.js', import.meta.url).pathname;

function runAutocannon(o: LoadOptions, seconds: number): Promise<AutocannonJson> {
  const method = o.method ?? (o.body === undefined ? 'GET' : 'POST');
  const headers = { ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}), ...o.headers };
  const opts: Record<string, unknown> = { url: o.url, connections: o.connections ?? 64, duration: seconds, pipelining: o.pipelining ?? 1, method, headers };
  if (o.rate !== undefined) opts.overallRate = o.rate;
  if (o.timeoutSeconds !== undefined) opts.timeout = o.timeoutSeconds;
  if (o.body !== undefined) opts.body = o.body;
  const args = [CHILD, JSON.stringify(opts)];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited with ${code}: ${err.trim().slice(-2000)}`));
      try {
        resolve(JSON.parse(out) as AutocannonJson);
      } catch {
        reject(new Error(`autocannon printed no JSON result; stdout: ${out.slice(0, 500)} stderr: ${err.slice(-1000)}`));
      }
    });
  });
}

/** Loads `o.url` with autocannon in a child process and returns its throughput and latency. */
export async function generateLoad(o: LoadOptions): Promise<LoadResult> {
  if (o.warmupSeconds) await runAutocannon(o, o.warmupSeconds);
  const r = await runAutocannon(o, o.seconds ?? 8);
  return {
    requestsPerSecond: r.requests.total / r.duration,
    latencyP50Ms: r.latency.p50,
    latencyP95Ms: r.latency.p95,
    latencyP99Ms: r.latency.p99,
    latencyMaxMs: r.latency.max,
    requests: r.requests.total,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    seconds: r.duration,
    latencyP90Ms: r.latency.p90,
    latencyP97_5Ms: r.latency.p97_5,
    statusCodes: Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([k, v]) => [k, v.count])),
  };
}
