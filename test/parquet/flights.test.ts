import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { columnBatchToRows, readParquetColumns, readParquetMetadata } from '../../connectors/parquet/index.js';
import { FLIGHTS } from './helpers.js';

describe('flights-3m.parquet (real data: ZSTD, dictionary pages, int64, timestamps)', () => {
  it('metadata: 3,000,000 rows in 11 row groups, 5 columns', async () => {
    const info = await readParquetMetadata(FLIGHTS);
    assert.equal(info.rows, 3_000_000);
    assert.equal(info.rowGroups.length, 11);
    assert.equal(info.rowGroups.reduce((n, g) => n + g.rows, 0), 3_000_000);
    assert.deepEqual(info.columns.map((c) => [c.name, c.type]), [
      ['date', 'timestamp'],
      ['delay', 'number'],
      ['distance', 'number'],
      ['origin', 'string'],
      ['destination', 'string'],
    ]);
  });

  it('first batch of date, delay, distance: Float64Arrays, dates as epoch ms in 2001', async () => {
    const it = readParquetColumns(FLIGHTS, { columns: ['date', 'delay', 'distance'], batchSize: 10_000 });
    const { value: b } = await it.next();
    await it.return(undefined);
    assert.ok(b);
    assert.equal(b.rows, 10_000);
    assert.equal(b.firstRow, 0);
    assert.deepEqual(Object.keys(b.columns), ['date', 'delay', 'distance']);
    for (const name of ['date', 'delay', 'distance']) {
      const col = b.columns[name];
      assert.ok(col instanceof Float64Array, name);
      assert.ok(col.every(Number.isFinite), `${name} finite`);
      assert.equal(b.nulls[name], undefined);
    }
    const date = b.columns.date as Float64Array;
    assert.ok(date.every((t) => new Date(t).getUTCFullYear() === 2001));
    assert.equal(date[0], Date.UTC(2001, 0, 1, 0, 1)); // 2001-01-01 00:01
    assert.ok((b.columns.distance as Float64Array).every((d) => d > 0 && Number.isInteger(d)));
  });

  it('matches hyparquet row for row after a skip into the middle of a row group', async () => {
    const start = 1_234_567;
    const file = await asyncBufferFromFile(FLIGHTS);
    const ref = await parquetReadObjects({ file, compressors, rowStart: start, rowEnd: start + 50 });
    const it = readParquetColumns(FLIGHTS, { batchSize: 50, skipRows: start });
    const { value: b } = await it.next();
    await it.return(undefined);
    assert.ok(b);
    assert.equal(b.firstRow, start);
    assert.deepEqual(columnBatchToRows(b), ref.map((r) => ({
      date: (r.date as Date).getTime(),
      delay: Number(r.delay),
      distance: Number(r.distance),
      origin: r.origin,
      destination: r.destination,
    })));
  });

  it('streams two columns of the whole file: 3,000,000 rows, batches within row groups', async () => {
    let rows = 0;
    let batches = 0;
    let next = 0;
    for await (const b of readParquetColumns(FLIGHTS, { columns: ['delay', 'distance'], batchSize: 65_536 })) {
      assert.equal(b.firstRow, next);
      assert.ok(b.rows <= 65_536);
      next += b.rows;
      rows += b.rows;
      batches++;
    }
    assert.equal(rows, 3_000_000);
    assert.equal(batches, 55); // 11 groups of ~272,727 rows → 5 batches each
  });
});
