import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createParquetWriter, rawDecodeRowsPerSecond, readParquetColumns, readParquetMetadata } from '../../connectors/parquet/index.js';
import { FLIGHTS, readAll, sluice, tempDir } from './helpers.js';

describe('Parquet errors', () => {
  let dir = '';
  let cleanup = async (): Promise<void> => {};
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(() => cleanup());

  it('a missing file is NOT_FOUND', async () => {
    const p = join(dir, 'nope.parquet');
    await assert.rejects(readParquetMetadata(p), sluice('NOT_FOUND', /nope\.parquet/));
    await assert.rejects(readAll(p, { batchSize: 10 }), sluice('NOT_FOUND', /nope\.parquet/));
  });

  it('a file that is not Parquet is DECODE_ERROR naming the path', async () => {
    const csv = join(dir, 'data.parquet');
    await writeFile(csv, 'a,b\n1,2\n'.repeat(100));
    await assert.rejects(readParquetMetadata(csv), sluice('DECODE_ERROR', /data\.parquet.*not a Parquet file/));
    await assert.rejects(readAll(csv, { batchSize: 10 }), sluice('DECODE_ERROR', /data\.parquet/));
    const tiny = join(dir, 'tiny.parquet');
    await writeFile(tiny, 'PAR1');
    await assert.rejects(readParquetMetadata(tiny), sluice('DECODE_ERROR', /tiny\.parquet/));
  });

  it('an unknown column is INVALID_INPUT listing the file\'s columns', async () => {
    await assert.rejects(
      readAll(FLIGHTS, { batchSize: 10, columns: ['delay', 'dleay'] }),
      sluice('INVALID_INPUT', /"dleay".*date, delay, distance, origin, destination/),
    );
    await assert.rejects(rawDecodeRowsPerSecond(FLIGHTS, ['nope']), sluice('INVALID_INPUT', /nope/));
  });

  it('bad options are INVALID_INPUT; an aborted signal stops the read', async () => {
    await assert.rejects(readAll(FLIGHTS, { batchSize: 0 }), sluice('INVALID_INPUT', /batchSize/));
    await assert.rejects(readAll(FLIGHTS, { batchSize: 10, skipRows: -1 }), sluice('INVALID_INPUT', /skipRows/));
    const ac = new AbortController();
    let seen = 0;
    await assert.rejects(async () => {
      for await (const b of readParquetColumns(FLIGHTS, { batchSize: 1000, columns: ['delay'], signal: ac.signal })) {
        seen += b.rows;
        ac.abort(new Error('stop'));
      }
    }, /stop/);
    assert.equal(seen, 1000);
  });

  it('a corrupt column chunk is DECODE_ERROR naming the file, row group and column', async () => {
    const p = join(dir, 'corrupt.parquet');
    const w = await createParquetWriter(p, { columns: [{ name: 'v', type: 'DOUBLE' }], codec: 'UNCOMPRESSED' });
    await w.writeRows(Array.from({ length: 100 }, (_, i) => ({ v: i })));
    await w.close();
    const { readFile } = await import('node:fs/promises');
    const bytes = await readFile(p);
    bytes.fill(0xff, 4, 40); // page header of the only column chunk
    await writeFile(p, bytes);
    await assert.rejects(readAll(p, { batchSize: 10 }), sluice('DECODE_ERROR', /corrupt\.parquet: row group 0, column v/));
  });
});
