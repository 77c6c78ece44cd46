// `npm run bench [-- NAME…]`: runs benchmarks, each in its own process, writes
// bench/results/latest.jsonl (rows of benchmarks not run this time are kept) and
// regenerates BENCHMARKS.md from it.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BENCHMARKS } from './registry.js';
import type { BenchResult } from './lib/result.js';
import { renderBenchmarksMd, renderTable } from './report.js';

const RESULTS = 'bench/results/latest.jsonl';
const TIME_LIMIT_MS = 120_000;

async function runOne(name: string, limitMs = TIME_LIMIT_MS): Promise<BenchResult[]> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./child.js', import.meta.url)), name], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  clearTimeout(timer);
  if (code !== 0) throw new Error(`benchmark ${name} failed (exit ${code}; limit ${limitMs / 1000} s)`);
  return out
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
const selected = wanted.length ? BENCHMARKS.filter((b) => wanted.includes(b.name)) : BENCHMARKS;
const previous: BenchResult[] = existsSync(RESULTS)
  ? readFileSync(RESULTS, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as BenchResult)
  : [];
const fresh: BenchResult[] = [];
let failed = false;
for (const b of selected) {
  process.stderr.write(`bench: ${b.name} — ${b.description}\n`);
  const t0 = Date.now();
  try {
    const rows = await runOne(b.name, b.timeLimitMs);
    fresh.push(...rows);
    process.stderr.write(`bench: ${b.name} done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  } catch (err) {
    failed = true;
    process.stderr.write(`bench: ${(err as Error).message}\n`);
  }
}
const ran = new Set(fresh.map((r) => r.name));
const all = [...previous.filter((r) => !ran.has(r.name)), ...fresh];
mkdirSync('bench/results', { recursive: true });
writeFileSync(RESULTS, all.map((r) => JSON.stringify(r)).join('\n') + '\n');
writeFileSync('BENCHMARKS.md', renderBenchmarksMd(all, BENCHMARKS));
process.stdout.write(renderTable(fresh) + '\n');
process.exit(failed ? 1 : 0);
