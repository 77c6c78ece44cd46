// `npm run bench [-- NAME…]`: runs benchmarks, each in its own process group under a
// time limit, merges their rows into bench/results/latest.jsonl (kept under version
// control; rows of benchmarks that did not run or did not finish are kept) and
// regenerates BENCHMARKS.md from it.
import { fileURLToPath } from 'node:url';
import { BENCHMARKS } from './registry.js';
import type { BenchResult } from './lib/result.js';
import { runTree } from './lib/process-tree.js';
import { runBenchmarks } from './lib/runner.js';
import { renderTable } from './report.js';

// Per benchmark. The slowest (stream-stateful, kafka-passthrough with its broker start)
// take a few minutes on an idle 2-core machine; a loaded one needs several times that.
const TIME_LIMIT_MS = Number(process.env.BENCH_TIME_LIMIT_S ?? 900) * 1000;

async function runOne(name: string): Promise<BenchResult[]> {
  // BENCH_TIME_LIMIT_S overrides every limit; else a benchmark's own (the Kafka ones), else the default.
  const limitMs = process.env.BENCH_TIME_LIMIT_S ? TIME_LIMIT_MS : (BENCHMARKS.find((b) => b.name === name)?.timeLimitMs ?? TIME_LIMIT_MS);
  const r = await runTree(process.execPath, [fileURLToPath(new URL('./child.js', import.meta.url)), name], limitMs);
  if (r.timedOut) throw new Error(`benchmark ${name} was killed at its time limit of ${limitMs / 1000} s (BENCH_TIME_LIMIT_S), with every process it started`);
  if (r.code !== 0) throw new Error(`benchmark ${name} failed (exit ${r.code ?? r.signal})`);
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('RESULT '))
    .map((l) => JSON.parse(l.slice(7)) as BenchResult);
}

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !BENCHMARKS.some((b) => b.name === w));
if (unknown.length) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}`);
  process.exit(2);
}
// BENCH_NO_WRITE=1: a smoke run (tiny sizes, a loaded machine) prints its rows and writes nothing.
const write = process.env.BENCH_NO_WRITE !== '1';
if (!write) process.stderr.write('bench: BENCH_NO_WRITE=1: results are printed, neither bench/results/latest.jsonl nor BENCHMARKS.md is written\n');
const { fresh, failed } = await runBenchmarks({
  write,
  benchmarks: BENCHMARKS,
  selected: wanted,
  resultsPath: 'bench/results/latest.jsonl',
  markdownPath: 'BENCHMARKS.md',
  runOne,
  log: (line) => process.stderr.write(line + '\n'),
});
process.stdout.write(renderTable(fresh) + '\n');
if (failed.length) process.stderr.write(`bench: failed: ${failed.join(', ')}\n`);
process.exit(failed.length ? 1 : 0);
