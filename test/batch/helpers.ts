import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readParquetColumns, columnBatchToRows } from '../../connectors/parquet/index.js';

export interface CliOptions {
  env?: Record<string, string>;
  /** Called once the child is spawned; may kill it. */
  onSpawn?: (kill: (sig: NodeJS.Signals) => void) => void;
  /** Called with each complete stderr line; may kill the child. */
  onLine?: (line: string, kill: (sig: NodeJS.Signals) => void) => void;
}

/** Runs the CLI in a child process; `onSpawn` and `onLine` may kill it. */
export function cli(args: string[], opts: CliOptions = {}): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [resolve('bin/sluice.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    let stderr = '';
    let stdout = '';
    let partial = '';
    const kill = (sig: NodeJS.Signals) => child.kill(sig);
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => {
      const text = d.toString();
      stderr += text;
      if (!opts.onLine) return;
      const lines = (partial + text).split('\n');
      partial = lines.pop()!;
      for (const line of lines) opts.onLine(line, kill);
    });
    opts.onSpawn?.(kill);
    child.on('exit', (code, signal) => done({ code, signal, stderr, stdout }));
  });
}

/** Finished part files of a sink directory, in name order (temporary parts excluded). */
export async function partFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.startsWith('part-')).sort().map((n) => join(dir, n));
}

export async function temporaryParts(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.startsWith('.'));
}

/** All rows of the JSONL or Parquet parts in a sink directory. */
export async function readParts(dir: string): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  for (const f of await partFiles(dir)) {
    if (f.endsWith('.parquet')) {
      for await (const b of readParquetColumns(f, { batchSize: 65536 })) rows.push(...columnBatchToRows(b));
    } else if (f.endsWith('.jsonl')) {
      for (const line of (await readFile(f, 'utf8')).split('\n')) if (line) rows.push(JSON.parse(line) as Record<string, unknown>);
    } else throw new Error(`unexpected part ${f}`);
  }
  return rows;
}

/**
 * Options that kill the child with `sig` right after it reports its `n`-th committed
 * checkpoint (counted over all its tasks; the job logs one debug line per checkpoint), so
 * a crash test kills at a known point past a checkpoint, not after a wall-clock delay.
 */
export function killAtCheckpoint(n: number, sig: NodeJS.Signals = 'SIGKILL'): CliOptions & { seen(): number } {
  let seen = 0;
  return {
    env: { SLUICE_LOG_LEVEL: 'debug' },
    onLine(line, kill) {
      if (!/ DEBUG .* checkpoint \d+ committed /.test(line)) return;
      if (++seen === n) kill(sig);
    },
    seen: () => seen,
  };
}
