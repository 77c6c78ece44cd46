import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createParquetWriter, readParquetColumns, readParquetMetadata } from '../../connectors/parquet/index.js';
import { readAll, tempDir } from './helpers.js';

/** Rows with every kind of value, nulls in every column somewhere. */
function sample(n: number): Record<string, unknown>[] {
  const words = ['Zoë', '🚀 rocket', '日本語', '', 'plain'];
  return Array.from({ length: n }, (_, i) => ({
    id: BigInt(i) * 1_000_000_007n,
    x: i % 7 === 3 ? null : i / 4 - 3,
    cat: i % 11 === 5 ? null : ['a', 'b', 'c'][i % 3],
    name: i % 13 === 0 ? null : `${words[i % words.length]}-${i}`,
    ok: i % 5 === 4 ? null : i % 2 === 0,
  }));
}

/** What reading gives back for sample rows: int64 as number, nulls as null. */
function expected(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}

describe('Parquet round trip', () => {
  let dir = '';
  let cleanup = async (): Promise<void> => {};
  const rows = sample(1000);
  let path = '';
  before(async () => {
    ({ dir, cleanup } = await tempDir());
    path = join(dir, 'nested', 'rt.parquet');
    const w = await createParquetWriter(path, { rowGroupSize: 300 });
    await w.writeRows(rows.slice(0, 2)); // types inferred from these first rows (row 0 has a null name)
    await w.writeRows(rows.slice(2, 650));
    await w.writeRows(rows.slice(650));
    assert.equal(w.rowsWritten, 1000);
    await w.close();
    await w.close(); // idempotent
  });
  after(() => cleanup());

  it('writes row groups of rowGroupSize and reports the schema', async () => {
    const info = await readParquetMetadata(path);
    assert.equal(info.rows, 1000);
    assert.deepEqual(info.rowGroups, [{ rows: 300, firstRow: 0 }, { rows: 300, firstRow: 300 }, { rows: 300, firstRow: 600 }, { rows: 100, firstRow: 900 }]);
    assert.deepEqual(info.columns.map((c) => [c.name, c.type, c.parquetType]), [
      ['id', 'number', 'INT64'],
      ['x', 'number', 'DOUBLE'],
      ['cat', 'string', 'BYTE_ARRAY UTF8'],
      ['name', 'string', 'BYTE_ARRAY UTF8'],
      ['ok', 'boolean', 'BOOLEAN'],
    ]);
  });

  it('reads back equal rows, in batches that split row groups but never span them', async () => {
    const { batches, rows: got } = await readAll(path, { batchSize: 128 });
    assert.deepEqual(got, expected(rows));
    assert.deepEqual(batches.map((b) => [b.firstRow, b.rows]), [
      [0, 128], [128, 128], [256, 44],
      [300, 128], [428, 128], [556, 44],
      [600, 128], [728, 128], [856, 44],
      [900, 100],
    ]);
  });

  it('gives numeric columns as Float64Array with a null mask (and NaN), strings and booleans with null', async () => {
    const [b] = (await readAll(path, { batchSize: 16 })).batches;
    assert.ok(b);
    assert.ok(b.columns.x instanceof Float64Array && b.columns.id instanceof Float64Array);
    assert.deepEqual(Array.from(b.columns.x.subarray(0, 5)), [-3, -2.75, -2.5, NaN, -2]);
    assert.deepEqual(Array.from(b.nulls.x ?? []), Array.from({ length: 16 }, (_, i) => (i % 7 === 3 ? 1 : 0)));
    assert.equal(b.nulls.id, undefined, 'no mask for a column without nulls in the batch');
    assert.equal(b.columns.id[15], 15 * 1_000_000_007);
    assert.deepEqual((b.columns.name as unknown[]).slice(0, 2), [null, '🚀 rocket-1']);
    assert.equal(b.nulls.name?.[0], 1);
    assert.deepEqual((b.columns.ok as unknown[]).slice(0, 5), [true, false, true, false, null]);
  });

  it('skipRows resumes anywhere, across row-group boundaries, without reading earlier groups', async () => {
    for (const skip of [0, 1, 299, 300, 301, 599, 650, 900, 999]) {
      const { batches, rows: got } = await readAll(path, { batchSize: 100, skipRows: skip });
      assert.deepEqual(got, expected(rows.slice(skip)), `skipRows ${skip}`);
      assert.equal(batches[0]?.firstRow, skip);
    }
    assert.deepEqual((await readAll(path, { batchSize: 100, skipRows: 1000 })).batches, []);
    assert.deepEqual((await readAll(path, { batchSize: 100, skipRows: 5000 })).batches, []);
  });

  it('projection reads only the asked columns, in the asked order', async () => {
    const { batches, rows: got } = await readAll(path, { batchSize: 400, columns: ['ok', 'id'] });
    for (const b of batches) assert.deepEqual(Object.keys(b.columns), ['ok', 'id']);
    assert.deepEqual(got, expected(rows).map((r) => ({ ok: r.ok, id: r.id })));
  });

  it('writeColumns writes read batches back unchanged, nulls included', async () => {
    const copy = join(dir, 'copy.parquet');
    const w = await createParquetWriter(copy, {
      rowGroupSize: 256,
      columns: [
        { name: 'id', type: 'INT64' },
        { name: 'x', type: 'DOUBLE' },
        { name: 'cat', type: 'STRING' },
        { name: 'name', type: 'STRING' },
        { name: 'ok', type: 'BOOLEAN' },
      ],
    });
    for await (const b of readParquetColumns(path, { batchSize: 77 })) await w.writeColumns(b);
    await w.close();
    assert.deepEqual((await readParquetMetadata(copy)).rowGroups.map((g) => g.rows), [256, 256, 256, 232]);
    assert.deepEqual((await readAll(copy, { batchSize: 1000 })).rows, expected(rows));
  });

  it('an empty writer still makes a valid file', async () => {
    const p = join(dir, 'empty.parquet');
    const w = await createParquetWriter(p, { columns: [{ name: 'a', type: 'DOUBLE' }] });
    await w.close();
    assert.deepEqual(await readParquetMetadata(p), { rows: 0, rowGroups: [], columns: [{ name: 'a', type: 'number', parquetType: 'DOUBLE', nullable: true }] });
    assert.deepEqual((await readAll(p, { batchSize: 10 })).batches, []);
  });
});
