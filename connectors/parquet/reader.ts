/**
 * Streaming Parquet reader: row group by row group, only the projected columns, as
 * columnar batches. A row group's column chunks are read with one positioned read
 * each (adjacent chunks coalesced), the next group's bytes are fetched while the
 * current one is being consumed, and flat columns are decoded page by page into the
 * batch (decode.ts), so memory is about two row groups' compressed bytes plus a batch.
 */
import { parquetRead } from 'hyparquet';
import type { RowGroup } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import type { ColumnType } from '../../src/core/columns.js';
import { SluiceError } from '../../src/core/errors.js';
import { ColumnCursor, NUMBER_PARSERS } from './decode.js';
import type { Vector } from './decode.js';
import { decodeError, openParquet, readRange } from './file.js';
import type { ColumnSchema, OpenParquet } from './file.js';

/**
 * A batch of rows in columns. Numeric, timestamp and date columns are Float64Array
 * (int64 converted to number, exact up to 2⁵³; timestamps and dates as epoch
 * milliseconds). String columns hold string | null, boolean columns boolean | null,
 * nested columns what hyparquet assembles.
 *
 * Nulls: `nulls[name]` is a mask (1 = null) for every column that has a null in this
 * batch, and absent otherwise, so "any null?" is one lookup. In a Float64Array a null
 * slot also holds NaN (never a silent 0), but NaN may be a real value too: the mask is
 * what tells them apart. In other columns a null is also `null` in the array.
 */
export interface ColumnBatch {
  rows: number;
  /** Index of the first row of this batch within the file. */
  firstRow: number;
  columns: Record<string, Float64Array | (string | null)[] | (boolean | null)[] | unknown[]>;
  nulls: Record<string, Uint8Array | undefined>;
  /** Each column's declared type where sluice can write it back as such (ints, times, booleans, strings). */
  types: Record<string, ColumnType | undefined>;
}

export interface ParquetReadOptions {
  /** Columns to read, in this order; default all top-level columns in file order. */
  columns?: string[] | undefined;
  /** Rows per batch; a batch never spans two row groups, so a group's last batch may be shorter. */
  batchSize: number;
  /** Skips the first N rows of the file (resume). Row groups wholly before N are not read at all. */
  skipRows?: number | undefined;
  /** Aborting stops the read: the iterator rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
}

/** Adjacent column chunks closer than this are fetched in one read. */
const COALESCE_GAP = 64 << 10;

function checkInt(name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new SluiceError('INVALID_INPUT', `${name} must be an integer ≥ ${min}, got ${String(v)}`);
  }
  return v;
}

function project(pq: OpenParquet, names: string[] | undefined): ColumnSchema[] {
  if (names === undefined) return pq.columns;
  if (!Array.isArray(names) || names.length === 0) {
    throw new SluiceError('INVALID_INPUT', 'columns must be a non-empty array of column names', { file: pq.path });
  }
  const byName = new Map(pq.columns.map((c) => [c.name, c]));
  const unknown = names.filter((n) => !byName.has(n));
  if (unknown.length > 0) {
    const have = pq.columns.map((c) => c.name).join(', ');
    throw new SluiceError('INVALID_INPUT', `${pq.path}: no column ${unknown.map((n) => JSON.stringify(n)).join(', ')}; the file has: ${have}`, { file: pq.path, columns: unknown });
  }
  return [...new Set(names)].map((n) => byName.get(n)!);
}

/** Reads the chunks of `cols` in one row group; returns each column's bytes. */
async function readGroupBytes(pq: OpenParquet, group: RowGroup, cols: ColumnSchema[]): Promise<Map<string, Uint8Array>> {
  const ranges: { name: string; start: number; end: number }[] = [];
  for (const col of cols) {
    const chunk = group.columns.find((c) => c.meta_data?.path_in_schema.length === 1 && c.meta_data.path_in_schema[0] === col.name);
    const meta = chunk?.meta_data;
    if (!meta) throw new Error(`no column chunk for ${col.name}`);
    if (chunk.file_path) throw new Error(`column ${col.name} is stored in another file (${chunk.file_path}); not supported`);
    const start = Number(meta.dictionary_page_offset || meta.data_page_offset);
    ranges.push({ name: col.name, start, end: start + Number(meta.total_compressed_size) });
  }
  ranges.sort((a, b) => a.start - b.start);
  const out = new Map<string, Uint8Array>();
  let i = 0;
  while (i < ranges.length) {
    let j = i + 1;
    let end = ranges[i]!.end;
    while (j < ranges.length && ranges[j]!.start - end <= COALESCE_GAP) end = Math.max(end, ranges[j++]!.end);
    const start = ranges[i]!.start;
    const bytes = await readRange(pq.fh, start, end);
    for (; i < j; i++) out.set(ranges[i]!.name, bytes.subarray(ranges[i]!.start - start, ranges[i]!.end - start));
  }
  return out;
}

/** Nested columns: hyparquet reads and assembles [rowStart, rowEnd) of the group whole. */
async function readNested(pq: OpenParquet, cols: ColumnSchema[], rowStart: number, rowEnd: number): Promise<Map<string, unknown[]>> {
  const out = new Map<string, unknown[]>(cols.map((c) => [c.name, new Array<unknown>(rowEnd - rowStart).fill(null)]));
  await parquetRead({
    file: pq.file,
    metadata: pq.metadata,
    columns: cols.map((c) => c.name),
    rowStart,
    rowEnd,
    compressors,
    parsers: NUMBER_PARSERS,
    onChunk: (chunk) => {
      const arr = out.get(chunk.columnName);
      if (!arr) return;
      const data = chunk.columnData;
      // Chunks may start before rowStart (whole pages); keep only the requested rows.
      for (let j = Math.max(0, rowStart - chunk.rowStart); j < data.length; j++) {
        const r = chunk.rowStart + j - rowStart;
        if (r >= arr.length) break;
        arr[r] = data[j] ?? null;
      }
    },
  });
  return out;
}

function nullMask(values: unknown[]): Uint8Array | undefined {
  let mask: Uint8Array | undefined;
  for (let i = 0; i < values.length; i++) if (values[i] === null) (mask ??= new Uint8Array(values.length))[i] = 1;
  return mask;
}

/**
 * Streams a Parquet file as ColumnBatches. Unknown column → INVALID_INPUT listing the
 * file's columns; missing file → NOT_FOUND; not Parquet or corrupt → DECODE_ERROR
 * naming the path (and the row group and column when the damage is in the data).
 */
export async function* readParquetColumns(path: string, opts: ParquetReadOptions): AsyncGenerator<ColumnBatch> {
  const batchSize = checkInt('batchSize', opts.batchSize, 1);
  const skipRows = checkInt('skipRows', opts.skipRows ?? 0, 0);
  const { signal } = opts;
  signal?.throwIfAborted();
  const pq = await openParquet(path);
  let pending: Promise<Map<string, Uint8Array>> | undefined;
  try {
    const cols = project(pq, opts.columns);
    const types = Object.fromEntries(cols.map((c) => [c.name, c.declared]));
    const flat = cols.filter((c) => c.flat);
    const nested = cols.filter((c) => !c.flat);
    const groups = pq.metadata.row_groups;
    const firstRows: number[] = [];
    let total = 0;
    for (const g of groups) {
      firstRows.push(total);
      total += Number(g.num_rows);
    }
    // Row groups that hold rows at or after skipRows (and any rows at all).
    const todo = groups.map((_, i) => i).filter((i) => firstRows[i]! + Number(groups[i]!.num_rows) > skipRows && Number(groups[i]!.num_rows) > 0);

    const fetch = (gi: number): Promise<Map<string, Uint8Array>> => {
      const p = readGroupBytes(pq, groups[gi]!, flat).catch((err: unknown) => {
        throw decodeError(err, path, `row group ${gi}`);
      });
      p.catch(() => {}); // observed when awaited; a read abandoned by an early return must not go unhandled
      return p;
    };
    if (todo.length > 0 && flat.length > 0) pending = fetch(todo[0]!);

    for (let t = 0; t < todo.length; t++) {
      signal?.throwIfAborted();
      const gi = todo[t]!;
      const group = groups[gi]!;
      const groupRows = Number(group.num_rows);
      const groupStart = firstRows[gi]!;
      const skip = Math.max(0, skipRows - groupStart);
      const bytes = pending ? await pending : new Map<string, Uint8Array>();
      pending = t + 1 < todo.length && flat.length > 0 ? fetch(todo[t + 1]!) : undefined;

      let where = `row group ${gi}`;
      let cursors: [ColumnSchema, ColumnCursor][];
      let nestedData: Map<string, unknown[]> | undefined;
      try {
        cursors = flat.map((c) => {
          where = `row group ${gi}, column ${c.name}`;
          const meta = group.columns.find((ch) => ch.meta_data?.path_in_schema[0] === c.name)!.meta_data!;
          const cur = new ColumnCursor(bytes.get(c.name)!, c, pq.root, meta.codec, compressors);
          cur.skip(skip);
          return [c, cur];
        });
        where = `row group ${gi}`;
        if (nested.length > 0) nestedData = await readNested(pq, nested, groupStart + skip, groupStart + groupRows);
      } catch (err) {
        throw decodeError(err, path, where);
      }

      for (let r = skip; r < groupRows; r += batchSize) {
        const n = Math.min(batchSize, groupRows - r);
        const batch: ColumnBatch = { rows: n, firstRow: groupStart + r, columns: {}, nulls: {}, types };
        const vectors = new Map<string, Vector>();
        for (const [c, cur] of cursors) {
          try {
            vectors.set(c.name, cur.take(n));
          } catch (err) {
            throw decodeError(err, path, `row group ${gi}, column ${c.name}`);
          }
        }
        for (const c of cols) {
          let v = vectors.get(c.name);
          if (!v) {
            const values = nestedData!.get(c.name)!.slice(r - skip, r - skip + n);
            v = { values, nulls: nullMask(values) };
          }
          batch.columns[c.name] = v.values;
          if (v.nulls) batch.nulls[c.name] = v.nulls;
        }
        signal?.throwIfAborted();
        yield batch;
      }
    }
  } finally {
    if (pending) await pending.catch(() => {});
    await pq.close();
  }
}

/** Row objects from a ColumnBatch, in the batch's column order; nulls as null. */
export function columnBatchToRows(batch: ColumnBatch): Record<string, unknown>[] {
  const names = Object.keys(batch.columns);
  const rows = new Array<Record<string, unknown>>(batch.rows);
  for (let i = 0; i < batch.rows; i++) rows[i] = {};
  for (const name of names) {
    const col = batch.columns[name]!;
    const mask = batch.nulls[name];
    for (let i = 0; i < batch.rows; i++) {
      rows[i]![name] = mask?.[i] === 1 ? null : (col[i] ?? null);
    }
  }
  return rows;
}
