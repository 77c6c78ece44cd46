/**
 * Opening a Parquet file: a FileHandle-backed AsyncBuffer for hyparquet, the footer
 * (metadata), and the mapping of the file's top-level columns onto the value types
 * sluice hands out. Open and footer errors become SluiceErrors that name the path.
 */
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { parquetMetadataAsync, parquetSchema } from 'hyparquet';
import type { AsyncBuffer, FileMetaData, SchemaElement, SchemaTree } from 'hyparquet';
import type { ColumnType } from '../../src/core/columns.js';
import { SluiceError } from '../../src/core/errors.js';
import { mapOpenError } from '../files/common.js';

export { mapOpenError };

/**
 * What a column holds in a ColumnBatch.
 * - number, timestamp, date: Float64Array (timestamps and dates as epoch milliseconds)
 * - string: (string | null)[]; boolean: (boolean | null)[]; bytes: (Uint8Array | null)[]
 * - other (nested lists/structs/maps, JSON, geometry, variant): unknown[] as hyparquet decodes them
 */
export type ParquetValueType = 'number' | 'timestamp' | 'date' | 'string' | 'boolean' | 'bytes' | 'other';

export interface ParquetColumnInfo {
  name: string;
  type: ParquetValueType;
  /** The Parquet type as written, e.g. "INT64", "INT64 TIMESTAMP(MICROS)", "BYTE_ARRAY STRING", "group". */
  parquetType: string;
  nullable: boolean;
}

export interface ParquetInfo {
  rows: number;
  /** firstRow: index of the group's first row within the file. */
  rowGroups: { rows: number; firstRow: number }[];
  columns: ParquetColumnInfo[];
}

/** One top-level column as the reader needs it. */
export interface ColumnSchema extends ParquetColumnInfo {
  node: SchemaTree;
  /** The type a Parquet writer gives this column to keep it as it is; undefined when sluice cannot write it back as such. */
  declared: ColumnType | undefined;
  /** Not nested: decoded page by page by ColumnCursor. Nested columns go through hyparquet's assembly. */
  flat: boolean;
}

export interface OpenParquet {
  path: string;
  fh: FileHandle;
  file: AsyncBuffer;
  metadata: FileMetaData;
  /** The schema tree's root; hyparquet wants [root, column] as a flat column's schema path. */
  root: SchemaTree;
  columns: ColumnSchema[];
  info: ParquetInfo;
  close(): Promise<void>;
}

/** Wraps a hyparquet failure (a plain Error) as DECODE_ERROR naming the file and where. */
export function decodeError(err: unknown, path: string, where: string): SluiceError {
  if (err instanceof SluiceError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new SluiceError('DECODE_ERROR', `${path}: ${where}: ${msg}`, { file: path }, { cause: err });
}

/** Reads exactly [start, end) into a fresh ArrayBuffer (hyparquet keeps views into it). */
export async function readRange(fh: FileHandle, start: number, end: number): Promise<Uint8Array> {
  const out = new Uint8Array(end - start);
  let done = 0;
  while (done < out.length) {
    const { bytesRead } = await fh.read(out, done, out.length - done, start + done);
    if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${start + done} (wanted up to ${end})`);
    done += bytesRead;
  }
  return out;
}

function describe(el: SchemaElement, nested: boolean): string {
  if (nested) return 'group';
  const parts: string[] = [el.type ?? '?'];
  const lt = el.logical_type as ({ type: string; unit?: string; bitWidth?: number; isSigned?: boolean } | undefined);
  if (lt?.type === 'TIMESTAMP') parts.push(`TIMESTAMP(${lt.unit ?? ''})`);
  else if (lt?.type === 'INTEGER') parts.push(`${lt.isSigned === false ? 'UINT' : 'INT'}(${lt.bitWidth ?? ''})`);
  else if (lt) parts.push(lt.type);
  else if (el.converted_type) parts.push(el.converted_type);
  return parts.join(' ');
}

/** Maps a top-level schema node onto what the reader produces for it. */
export function classify(node: SchemaTree): ColumnSchema {
  const el = node.element;
  const nested = node.children.length > 0 || el.repetition_type === 'REPEATED';
  const base = { name: el.name, parquetType: describe(el, nested), nullable: el.repetition_type !== 'REQUIRED', node, flat: !nested };
  if (nested) return { ...base, type: 'other', declared: undefined };
  const ct = el.converted_type;
  const lt = el.logical_type?.type;
  let type: ParquetValueType;
  if (lt === 'TIMESTAMP' || ct === 'TIMESTAMP_MILLIS' || ct === 'TIMESTAMP_MICROS' || el.type === 'INT96') type = 'timestamp';
  else if (lt === 'DATE' || ct === 'DATE') type = 'date';
  else if (ct === 'DECIMAL' || lt === 'DECIMAL' || lt === 'FLOAT16') type = 'number';
  else if (ct === 'JSON' || ct === 'BSON' || ct === 'INTERVAL' || lt === 'JSON' || lt === 'BSON' || lt === 'GEOMETRY' || lt === 'GEOGRAPHY' || lt === 'VARIANT') type = 'other';
  else if (el.type === 'BOOLEAN') type = 'boolean';
  else if (el.type === 'INT32' || el.type === 'INT64' || el.type === 'FLOAT' || el.type === 'DOUBLE') type = 'number';
  // hyparquet decodes BYTE_ARRAY as UTF-8 unless told otherwise (many writers omit the annotation); UUIDs become strings.
  else if (el.type === 'BYTE_ARRAY' || lt === 'UUID') type = 'string';
  else type = 'bytes';
  return { ...base, type, declared: declaredType(el) };
}

/** What a writer needs to store a column's values back with the type they came with. */
function declaredType(el: SchemaElement): ColumnType | undefined {
  const ct = el.converted_type;
  const lt = el.logical_type as { type: string; unit?: string; isAdjustedToUTC?: boolean; bitWidth?: number; isSigned?: boolean } | undefined;
  if (lt?.type === 'TIMESTAMP' && el.type === 'INT64') {
    const unit = lt.unit === 'NANOS' ? 'TIMESTAMP_NANOS' : lt.unit === 'MICROS' ? 'TIMESTAMP_MICROS' : 'TIMESTAMP_MILLIS';
    return { type: unit, utc: lt.isAdjustedToUTC !== false };
  }
  if (!lt && (ct === 'TIMESTAMP_MILLIS' || ct === 'TIMESTAMP_MICROS')) return { type: ct, utc: true };
  if (lt?.type === 'DATE' || ct === 'DATE') return { type: 'DATE' };
  if (el.type === 'BOOLEAN') return { type: 'BOOLEAN' };
  if (el.type === 'FLOAT' && !lt) return { type: 'FLOAT' };
  if (el.type === 'DOUBLE' && !lt) return { type: 'DOUBLE' };
  if (el.type === 'BYTE_ARRAY' && (ct === 'UTF8' || lt?.type === 'STRING' || (!ct && !lt))) return { type: 'STRING' };
  const signed = lt ? lt.type === 'INTEGER' && lt.isSigned !== false : !ct || ct === 'INT_64' || ct === 'INT_32' || ct === 'INT_16' || ct === 'INT_8';
  if (el.type === 'INT64' && signed) return { type: 'INT64' };
  // int8/int16 widen to int32: still integers; unsigned 32-bit fits int64.
  if (el.type === 'INT32' && signed) return { type: 'INT32' };
  if (el.type === 'INT32' && (lt?.type === 'INTEGER' || ct === 'UINT_8' || ct === 'UINT_16' || ct === 'UINT_32')) return { type: lt?.bitWidth === 32 || ct === 'UINT_32' ? 'INT64' : 'INT32' };
  return undefined; // decimals, unsigned 64-bit, INT96, nested, bytes: written by their values' type
}

/** Opens the file and parses its footer. The caller must close() it. */
export async function openParquet(path: string): Promise<OpenParquet> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw mapOpenError(err, path);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new SluiceError('INVALID_INPUT', `${path} is not a regular file`, { file: path });
    const size = st.size;
    const handle = fh;
    const file: AsyncBuffer = {
      byteLength: size,
      slice: async (start: number, end?: number) => {
        const bytes = await readRange(handle, start, end ?? size);
        return bytes.buffer as ArrayBuffer;
      },
    };
    let metadata: FileMetaData;
    try {
      if (size < 12) throw new Error(`only ${size} bytes`);
      metadata = await parquetMetadataAsync(file);
    } catch (err) {
      throw decodeError(err, path, 'not a Parquet file');
    }
    const root = parquetSchema(metadata);
    const columns = root.children.map(classify);
    let firstRow = 0;
    const rowGroups = metadata.row_groups.map((g) => {
      const rows = Number(g.num_rows);
      const out = { rows, firstRow };
      firstRow += rows;
      return out;
    });
    const info: ParquetInfo = {
      rows: Number(metadata.num_rows),
      rowGroups,
      columns: columns.map(({ name, type, parquetType, nullable }) => ({ name, type, parquetType, nullable })),
    };
    return { path, fh, file, metadata, root, columns, info, close: () => handle.close() };
  } catch (err) {
    await fh.close().catch(() => {});
    throw err;
  }
}

/** Schema info from the footer only; no column data is read. */
export async function readParquetMetadata(path: string): Promise<ParquetInfo> {
  const pq = await openParquet(path);
  await pq.close();
  return pq.info;
}
