// Runs autocannon in this process (the load generator's child) and prints its JSON result
// with the latency percentiles autocannon leaves out (p95), computed from every response's
// latency as autocannon records them: 2xx only, with autocannon's coordinated-omission
// correction when a fixed rate is offered. Usage: node autocannon-child.js '<options json>'.
import { isMainModule } from './is-main.js';
import { createRequire } from 'node:module';

interface Instance {
  on(event: 'response', fn: (client: unknown, statusCode: number, bytes: number, ms: number) => void): void;
}
type Autocannon = (opts: Record<string, unknown>, done: (err: Error | null, result: Record<string, unknown>) => void) => Instance;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

/** The value at `p` percent of sorted samples (nearest rank, as HDR histograms report). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (!sorted.length) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

/** Samples, growable, of latencies in ms. */
class Samples {
  private buf = new Float64Array(1 << 16);
  length = 0;
  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
  sorted(): Float64Array {
    return this.buf.slice(0, this.length).sort();
  }
}

function main(): void {
  const opts = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown> & { overallRate?: number; connections?: number };
  const samples = new Samples();
  // autocannon's correction for a fixed rate: a slow answer also stands for the requests that would have been sent meanwhile.
  const perClient = opts.overallRate !== undefined ? opts.overallRate / (opts.connections ?? 10) : undefined;
  const interval = perClient ? Math.ceil(1 / perClient) : 0;
  const instance = autocannon(opts, (err, result) => {
    if (err) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    const s = samples.sorted();
    const latency = { ...(result.latency as Record<string, number>), p50: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99) };
    process.stdout.write(JSON.stringify({ ...result, latency }) + '\n');
  });
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status < 200 || status >= 300) return;
    samples.push(ms);
    if (interval > 0) for (let v = ms - interval; v >= interval; v -= interval) samples.push(v);
  });
}

if (isMainModule(import.meta.url)) main();
