/**
 * What `npm run bench` does, apart from spawning: runs the selected benchmarks one by
 * one through `runOne`, merges their rows into the kept results (bench/lib/merge.ts)
 * and rewrites the results file and BENCHMARKS.md from the merged rows.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Benchmark } from './benchmark.js';
import { formatResults, mergeResults, parseResults } from './merge.js';
import type { BenchResult } from './result.js';
import { renderBenchmarksMd } from '../report.js';

export interface BenchRunOptions {
  benchmarks: Benchmark[];
  /** Names to run; empty: all. */
  selected: string[];
  resultsPath: string;
  markdownPath: string;
  /** Runs one benchmark to completion and returns its rows; throws if it failed or was killed. */
  runOne(name: string): Promise<BenchResult[]>;
  log(line: string): void;
  /** false: rows are only returned (smoke runs at tiny sizes must not replace measured rows). Default true. */
  write?: boolean;
}

export interface BenchRunOutcome {
  fresh: BenchResult[];
  failed: string[];
}

export async function runBenchmarks(o: BenchRunOptions): Promise<BenchRunOutcome> {
  const chosen = o.selected.length ? o.benchmarks.filter((b) => o.selected.includes(b.name)) : o.benchmarks;
  const previous = existsSync(o.resultsPath) ? parseResults(readFileSync(o.resultsPath, 'utf8')) : [];
  const fresh: BenchResult[] = [];
  const finished: string[] = [];
  const failed: string[] = [];
  for (const b of chosen) {
    o.log(`bench: ${b.name} — ${b.description}`);
    const t0 = Date.now();
    try {
      // Rows carry their benchmark's name even if a benchmark builds them by hand.
      const rows = (await o.runOne(b.name)).map((r) => ({ ...r, benchmark: b.name }));
      fresh.push(...rows);
      finished.push(b.name);
      o.log(`bench: ${b.name} done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    } catch (err) {
      failed.push(b.name);
      o.log(`bench: ${(err as Error).message}; its previous results are kept`);
    }
    if (o.write === false) continue;
    // Written after each benchmark, so stopping the run keeps what finished.
    const all = mergeResults(previous, fresh, finished);
    mkdirSync(dirname(o.resultsPath), { recursive: true });
    writeFileSync(o.resultsPath, formatResults(all));
    writeFileSync(o.markdownPath, renderBenchmarksMd(all, o.benchmarks));
  }
  return { fresh, failed };
}
