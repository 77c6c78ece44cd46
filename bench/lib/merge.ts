/**
 * Keeping benchmark results: bench/results/latest.jsonl is under version control and
 * holds the last result of every benchmark. A run replaces the rows of the benchmarks
 * that finished in it, and only those: a benchmark that was not selected, failed, or
 * was killed at its limit keeps its previous rows (with their dates), so a partial run
 * never drops another benchmark's numbers from BENCHMARKS.md.
 */
import type { BenchResult } from './result.js';

/** The benchmark (registry name) a row belongs to; rows from before the field existed name it in their command. */
export function benchmarkOf(r: BenchResult): string {
  return r.benchmark ?? /npm run bench -- (\S+)/.exec(r.command)?.[1] ?? r.name;
}

/**
 * previous with every row of the benchmarks in `finished` replaced by that benchmark's
 * fresh rows. Benchmarks keep their places (new ones go at the end), so the file and
 * BENCHMARKS.md change only where numbers changed.
 */
export function mergeResults(previous: BenchResult[], fresh: BenchResult[], finished: Iterable<string>): BenchResult[] {
  const done = new Set(finished);
  const out: BenchResult[] = [];
  const placed = new Set<string>();
  const freshOf = (b: string) => fresh.filter((r) => benchmarkOf(r) === b);
  for (const r of previous) {
    const b = benchmarkOf(r);
    if (!done.has(b)) out.push(r);
    else if (!placed.has(b)) {
      placed.add(b);
      out.push(...freshOf(b));
    }
  }
  for (const b of done) if (!placed.has(b)) out.push(...freshOf(b));
  return out;
}

export function parseResults(jsonl: string): BenchResult[] {
  return jsonl.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as BenchResult);
}

export function formatResults(rows: BenchResult[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
}
