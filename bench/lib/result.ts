import { cpus } from 'node:os';

/** One measured number, as written to bench/results/latest.jsonl. */
export interface BenchResult {
  /** The registry name of the benchmark that wrote the row (what `npm run bench -- NAME` takes). */
  benchmark?: string;
  name: string;
  mode: 'batch' | 'stream' | 'online' | 'serde' | 'state' | 'model';
  metric: string;
  value: number;
  unit: string;
  /** The limit this is compared with, measured in the same run; null where none applies. */
  ceiling: { name: string; value: number } | null;
  ratio: number | null;
  peak_rss_mb: number;
  params: Record<string, unknown>;
  machine: { cpu: string; cores: number; node: string };
  timestamp: string;
  /** The command that reproduces this row. */
  command: string;
}

export function machine(): BenchResult['machine'] {
  const c = cpus();
  return { cpu: c[0]?.model.trim() ?? 'unknown', cores: c.length, node: process.version };
}

export function peakRssMb(): number {
  // maxRSS is in kilobytes.
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

export function result(r: Omit<BenchResult, 'ratio' | 'peak_rss_mb' | 'machine' | 'timestamp' | 'command'> & { benchmark: string }): BenchResult {
  const { benchmark, ...rest } = r;
  return {
    benchmark,
    ...rest,
    ratio: r.ceiling && r.ceiling.value > 0 ? round(r.value / r.ceiling.value, 3) : null,
    peak_rss_mb: peakRssMb(),
    machine: machine(),
    timestamp: new Date().toISOString(),
    command: `npm run bench -- ${benchmark}`,
  };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function round(x: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Runs `fn` once to warm up, then `reps` times, and returns the median of what it returns. */
export async function medianOf(reps: number, fn: () => Promise<number>): Promise<number> {
  await fn();
  const xs: number[] = [];
  for (let i = 0; i < reps; i++) xs.push(await fn());
  return median(xs);
}
