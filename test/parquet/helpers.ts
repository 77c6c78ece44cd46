import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { columnBatchToRows, readParquetColumns } from '../../connectors/parquet/index.js';
import type { ColumnBatch, ParquetReadOptions } from '../../connectors/parquet/index.js';
import { SluiceError } from '../../src/core/errors.js';
import type { ErrorCode } from '../../src/core/errors.js';

/** Resolved from this file (dist/test/parquet/), so tests run from any directory. */
export const FLIGHTS = fileURLToPath(new URL('../../../node_modules/vega-datasets/data/flights-3m.parquet', import.meta.url));

/** A fresh temporary directory; call the returned cleanup in `after`. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-parquet-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function readAll(path: string, opts: ParquetReadOptions): Promise<{ batches: ColumnBatch[]; rows: Record<string, unknown>[] }> {
  const batches: ColumnBatch[] = [];
  for await (const b of readParquetColumns(path, opts)) batches.push(b);
  return { batches, rows: batches.flatMap(columnBatchToRows) };
}

/** An assert.rejects / assert.throws predicate for a SluiceError with this code and message. */
export function sluice(code: ErrorCode, message?: RegExp): (e: unknown) => boolean {
  return (e) => {
    if (!(e instanceof SluiceError) || e.code !== code) throw new Error(`expected SluiceError ${code}, got ${String(e)}`);
    if (message && !message.test(e.message)) throw new Error(`message ${JSON.stringify(e.message)} does not match ${String(message)}`);
    return true;
  };
}
