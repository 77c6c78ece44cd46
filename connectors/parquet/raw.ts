/**
 * The "raw Parquet decode" ceiling that benchmarks compare sluice's reader with:
 * hyparquet used the way someone who just wants the columns would use it, with
 * nothing in its way: parquetRead per row group with onChunk (no row transposition),
 * hyparquet's own file AsyncBuffer, ZSTD etc. from hyparquet-compressors, and
 * timestamps left as hyparquet's raw BigInts (no Date per value).
 */
import { asyncBufferFromFile, parquetMetadataAsync, parquetRead, parquetSchema } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { SluiceError } from '../../src/core/errors.js';
import { decodeError, mapOpenError } from './file.js';

const identity = <T>(v: T): T => v;

export async function rawDecodeRowsPerSecond(path: string, columns: string[]): Promise<{ rowsPerSecond: number; rows: number }> {
  const t0 = performance.now();
  let file;
  try {
    file = await asyncBufferFromFile(path);
  } catch (err) {
    throw mapOpenError(err, path);
  }
  let metadata;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (err) {
    throw decodeError(err, path, 'not a Parquet file');
  }
  const have = parquetSchema(metadata).children.map((c) => c.element.name);
  const unknown = columns.filter((c) => !have.includes(c));
  if (unknown.length > 0) throw new SluiceError('INVALID_INPUT', `${path}: no column ${unknown.join(', ')}; the file has: ${have.join(', ')}`, { file: path });
  const parsers = { timestampFromMilliseconds: identity, timestampFromMicroseconds: identity, timestampFromNanoseconds: identity };
  let rows = 0;
  let values = 0;
  for (const group of metadata.row_groups) {
    const n = Number(group.num_rows);
    await parquetRead({ file, metadata, columns, rowStart: rows, rowEnd: rows + n, compressors, parsers, onChunk: (c) => { values += c.columnData.length; } });
    rows += n;
  }
  const seconds = (performance.now() - t0) / 1000;
  if (values < rows * columns.length) throw new SluiceError('INTERNAL', `raw decode saw ${values} values for ${rows} rows × ${columns.length} columns`);
  return { rowsPerSecond: rows / seconds, rows };
}
