import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readParquetColumns, columnBatchToRows } from '../../connectors/parquet/index.js';

/** Runs the CLI in a child process; `onStart` may kill it. */
export function cli(args: string[], opts: { env?: Record<string, string>; onSpawn?: (kill: (sig: NodeJS.Signals) => void) => void } = {}): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [resolve('bin/sluice.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    let stderr = '';
    let stdout = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    opts.onSpawn?.((sig) => child.kill(sig));
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
