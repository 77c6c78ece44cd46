import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FileBatch, RowResult } from '../../connectors/files/index.js';

/** A fresh temporary directory; call the returned cleanup in `after`. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-files-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function collect(it: AsyncIterable<FileBatch>): Promise<{ rows: RowResult[]; batches: FileBatch[] }> {
  const batches: FileBatch[] = [];
  for await (const b of it) batches.push(b);
  return { rows: batches.flatMap((b) => b.rows), batches };
}

export function values(rows: RowResult[]): Record<string, unknown>[] {
  return rows.map((r) => {
    if ('error' in r) throw new Error(`unexpected error row: ${r.error.message}`);
    return r.value;
  });
}

export function errors(rows: RowResult[]): { line: number; message: string; raw: string }[] {
  return rows.flatMap((r) => ('error' in r ? [{ line: r.line, message: r.error.message, raw: r.raw }] : []));
}

/** A compact view of rows: [line, value] or [line, 'ERR: message']. */
export function summary(rows: RowResult[]): [number, unknown][] {
  return rows.map((r) => [r.line, 'error' in r ? `ERR: ${r.error.message}` : r.value]);
}
