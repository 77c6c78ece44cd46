import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { readParquetMetadata } from '../../connectors/parquet/index.js';
import { readAll, tempDir } from './helpers.js';

/**
 * Files as other writers make them: REQUIRED columns, DELTA / BYTE_STREAM_SPLIT
 * encodings (decoded by hyparquet, not our fast path), INT32 dates, microsecond
 * timestamps, unsigned and decimal integers.
 */
describe('Parquet shapes from other writers', () => {
  let dir = '';
  let cleanup = async (): Promise<void> => {};
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(() => cleanup());

  it('decodes required columns, other encodings and logical types to numbers', async () => {
    const n = 2000;
    const ids = Array.from({ length: n }, (_, i) => BigInt(i * 3 - 100));
    const buf = parquetWriteBuffer({
      rowGroupSize: 700,
      columnData: [
        { name: 'id', data: ids, encoding: 'DELTA_BINARY_PACKED', nullable: false },
        { name: 'f', data: Float32Array.from({ length: n }, (_, i) => i / 8), encoding: 'BYTE_STREAM_SPLIT', nullable: false },
        { name: 'day', data: Array.from({ length: n }, (_, i) => (i % 9 === 0 ? null : new Date(Date.UTC(2024, 0, 1 + (i % 300))))) },
        { name: 'us', data: Array.from({ length: n }, (_, i) => BigInt(1_700_000_000_000_000 + i * 1500)) },
        { name: 'u', data: Array.from({ length: n }, (_, i) => 4_000_000_000 + i) },
        { name: 'dec', data: Array.from({ length: n }, (_, i) => i / 100) },
        { name: 'tag', data: Array.from({ length: n }, (_, i) => `t${i % 4}`), encoding: 'DELTA_BYTE_ARRAY' },
      ],
      schema: [
        { name: 'root', num_children: 7 },
        { name: 'id', type: 'INT64', repetition_type: 'REQUIRED' },
        { name: 'f', type: 'FLOAT', repetition_type: 'REQUIRED' },
        { name: 'day', type: 'INT32', converted_type: 'DATE', repetition_type: 'OPTIONAL' },
        { name: 'us', type: 'INT64', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' }, repetition_type: 'OPTIONAL' },
        { name: 'u', type: 'INT32', converted_type: 'UINT_32', repetition_type: 'OPTIONAL' },
        { name: 'dec', type: 'INT32', converted_type: 'DECIMAL', scale: 2, precision: 9, repetition_type: 'OPTIONAL' },
        { name: 'tag', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      ],
    });
    const path = join(dir, 'shapes.parquet');
    await writeFile(path, new Uint8Array(buf));

    const info = await readParquetMetadata(path);
    assert.deepEqual(info.columns.map((c) => [c.name, c.type, c.nullable]), [
      ['id', 'number', false],
      ['f', 'number', false],
      ['day', 'date', true],
      ['us', 'timestamp', true],
      ['u', 'number', true],
      ['dec', 'number', true],
      ['tag', 'string', true],
    ]);
    const want = Array.from({ length: n }, (_, i) => ({
      id: i * 3 - 100,
      f: i / 8,
      day: i % 9 === 0 ? null : Date.UTC(2024, 0, 1 + (i % 300)),
      us: 1_700_000_000_000 + i * 1.5,
      u: 4_000_000_000 + i,
      dec: i / 100,
      tag: `t${i % 4}`,
    }));
    assert.deepEqual((await readAll(path, { batchSize: 333 })).rows, want);
    assert.deepEqual((await readAll(path, { batchSize: 100, skipRows: 1399 })).rows, want.slice(1399));
  });

  it('reads nested (list) columns through hyparquet, next to flat ones, with skipRows', async () => {
    const n = 50;
    const tags = Array.from({ length: n }, (_, i) => (i % 5 === 0 ? null : Array.from({ length: i % 3 }, (_, j) => `x${i}-${j}`)));
    const buf = parquetWriteBuffer({
      rowGroupSize: 20,
      columnData: [
        { name: 'id', data: Int32Array.from({ length: n }, (_, i) => i) },
        { name: 'tags', data: tags },
      ],
      schema: [
        { name: 'root', num_children: 2 },
        { name: 'id', type: 'INT32', repetition_type: 'REQUIRED' },
        { name: 'tags', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        { name: 'element', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      ],
    });
    const path = join(dir, 'nested.parquet');
    await writeFile(path, new Uint8Array(buf));
    assert.deepEqual((await readParquetMetadata(path)).columns.map((c) => [c.name, c.type, c.parquetType]), [['id', 'number', 'INT32'], ['tags', 'other', 'group']]);
    const want = tags.map((t, id) => ({ id, tags: t }));
    const { batches, rows } = await readAll(path, { batchSize: 8 });
    assert.deepEqual(rows, want);
    assert.deepEqual(Array.from(batches[0]!.nulls.tags ?? []), [1, 0, 0, 0, 0, 1, 0, 0]);
    assert.deepEqual((await readAll(path, { batchSize: 8, skipRows: 23, columns: ['tags'] })).rows, want.slice(23).map(({ tags: t }) => ({ tags: t })));
  });
});
