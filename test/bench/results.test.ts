// `npm run bench` keeps results: running one benchmark (or one that fails) leaves every
// other benchmark's rows in the results file and BENCHMARKS.md; a benchmark killed at
// its time limit takes the processes it started with it. Nothing here measures speed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Benchmark } from '../../bench/lib/benchmark.js';
import { formatResults, mergeResults, parseResults } from '../../bench/lib/merge.js';
import { runTree } from '../../bench/lib/process-tree.js';
import type { BenchResult } from '../../bench/lib/result.js';
import { runBenchmarks } from '../../bench/lib/runner.js';

const bench = (name: string): Benchmark => ({ name, mode: 'batch', description: `the ${name} benchmark`, run: () => Promise.reject(new Error('not run in tests')) });
const BENCHES = ['alpha', 'beta', 'gamma'].map(bench);

function row(benchmark: string, name: string, value: number, day: string): BenchResult {
  return { benchmark, name, mode: 'batch', metric: 'rows_per_s', value, unit: 'rows/s', ceiling: null, ratio: null, peak_rss_mb: 100, params: {}, machine: { cpu: 'cpu', cores: 2, node: 'v20' }, timestamp: `${day}T00:00:00.000Z`, command: `npm run bench -- ${benchmark}` };
}

const PREVIOUS = [row('alpha', 'alpha small', 1, '2026-01-01'), row('alpha', 'alpha big', 2, '2026-01-01'), row('beta', 'beta', 3, '2026-01-01'), row('gamma', 'gamma', 4, '2026-01-01')];

async function withFiles(fn: (paths: { resultsPath: string; markdownPath: string }) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-'));
  try {
    const resultsPath = join(dir, 'results', 'latest.jsonl');
    await mkdir(join(dir, 'results'));
    await writeFile(resultsPath, formatResults(PREVIOUS));
    await fn({ resultsPath, markdownPath: join(dir, 'BENCHMARKS.md') });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('running one benchmark alone replaces its rows and keeps every other benchmark\'s, in the file and in BENCHMARKS.md', async () => {
  await withFiles(async (paths) => {
    const out = await runBenchmarks({ benchmarks: BENCHES, selected: ['beta'], ...paths, log: () => {}, runOne: async (name) => [row(name, `${name} new`, 30, '2026-02-02')] });
    assert.deepEqual(out.failed, []);
    const kept = parseResults(await readFile(paths.resultsPath, 'utf8'));
    assert.deepEqual(kept.map((r) => [r.name, r.value]), [['alpha small', 1], ['alpha big', 2], ['beta new', 30], ['gamma', 4]]);
    const md = await readFile(paths.markdownPath, 'utf8');
    for (const [name, date] of [['alpha small', '2026-01-01'], ['alpha big', '2026-01-01'], ['beta new', '2026-02-02'], ['gamma', '2026-01-01']]) {
      assert.match(md, new RegExp(`^\\| ${name} \\|.*\\| ${date} \\|$`, 'm'), `${name} in BENCHMARKS.md`);
    }
    assert.doesNotMatch(md, /^\| beta \|/m);
  });
});

test('a benchmark that fails or is killed keeps its previous rows while the others are updated', async () => {
  await withFiles(async (paths) => {
    const out = await runBenchmarks({
      benchmarks: BENCHES,
      selected: [],
      ...paths,
      log: () => {},
      runOne: async (name) => {
        if (name === 'alpha') throw new Error('benchmark alpha was killed at its time limit');
        return [row(name, `${name} new`, 50, '2026-03-03')];
      },
    });
    assert.deepEqual(out.failed, ['alpha']);
    const kept = parseResults(await readFile(paths.resultsPath, 'utf8'));
    assert.deepEqual(kept.map((r) => [r.name, r.value]), [['alpha small', 1], ['alpha big', 2], ['beta new', 50], ['gamma new', 50]]);
  });
});

test('a run with write: false (BENCH_NO_WRITE=1) returns its rows and leaves the results file and BENCHMARKS.md as they were', async () => {
  await withFiles(async (paths) => {
    const before = await readFile(paths.resultsPath, 'utf8');
    const out = await runBenchmarks({ benchmarks: BENCHES, selected: ['beta'], ...paths, write: false, log: () => {}, runOne: async (name) => [row(name, `${name} smoke`, 7, '2026-05-05')] });
    assert.deepEqual(out.fresh.map((r) => [r.name, r.value]), [['beta smoke', 7]]);
    assert.equal(await readFile(paths.resultsPath, 'utf8'), before);
    await assert.rejects(readFile(paths.markdownPath, 'utf8'), { code: 'ENOENT' });
  });
});

test('merging adds a new benchmark at the end and reads the benchmark of old rows from their command', () => {
  const old = { ...row('beta', 'beta', 3, '2026-01-01') };
  delete old.benchmark;
  const merged = mergeResults([row('alpha', 'a', 1, '2026-01-01'), old], [row('delta', 'd', 9, '2026-04-04'), row('beta', 'b2', 8, '2026-04-04')], ['beta', 'delta']);
  assert.deepEqual(merged.map((r) => r.name), ['a', 'b2', 'd']);
});

test('a run killed at its time limit takes its whole process tree', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-tree-'));
  try {
    // The leader starts a grandchild (as batch-flights starts `sluice backfill`) that writes its pid and sleeps.
    const pidFile = join(dir, 'grandchild.pid');
    const grandchild = `require('node:fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => {}, 1000)`;
    const leader = `require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(grandchild)}], { stdio: 'ignore' }); setInterval(() => {}, 1000);`;
    const run = runTree(process.execPath, ['-e', leader], 8_000);
    let pid = 0;
    while (!pid) {
      pid = Number(await readFile(pidFile, 'utf8').catch(() => '0'));
      if (!pid) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(alive(pid), 'the grandchild runs before the limit');
    const r = await run;
    assert.equal(r.timedOut, true);
    await waitUntil(() => !alive(pid));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie is dead for our purpose.
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

async function waitUntil(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(ok());
}
