import type { Benchmark } from '../lib/benchmark.js';
import { CEILING_ROUTE, fastifyCeiling } from '../lib/fastify-ceiling.js';
import { result, round } from '../lib/result.js';

const CONNECTIONS = 64;
const SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 8);
const WARMUP_SECONDS = 2;

export const httpCeiling: Benchmark = {
  name: 'http-ceiling',
  mode: 'online',
  description: `the HTTP ceiling: a bare fastify 5 JSON POST route (no model) in its own process, loaded by autocannon in another, ${CONNECTIONS} connections, ${WARMUP_SECONDS} s warm-up then ${SECONDS} s measured`,
  async run() {
    const r = await fastifyCeiling({ connections: CONNECTIONS, seconds: SECONDS, warmupSeconds: WARMUP_SECONDS });
    if (r.errors || r.timeouts || r.non2xx) throw new Error(`http ceiling: ${r.errors} errors, ${r.timeouts} timeouts, ${r.non2xx} non-2xx responses out of ${r.requests}`);
    const params = { server: 'fastify 5, bare JSON POST route, own process', route: `POST ${CEILING_ROUTE}`, body_bytes: r.bodyBytes, connections: r.connections, seconds: SECONDS, warmup_seconds: WARMUP_SECONDS, load_generator: 'autocannon 9, own process', requests: r.requests, p50_ms: r.latencyP50Ms };
    const base = { benchmark: 'http-ceiling', name: 'http-ceiling', mode: 'online' as const, ceiling: null, params };
    return [
      result({ ...base, metric: 'requests_per_s', value: round(r.requestsPerSecond), unit: 'requests/s' }),
      result({ ...base, metric: 'p99_latency_ms', value: round(r.latencyP99Ms, 1), unit: 'ms' }),
    ];
  },
};
