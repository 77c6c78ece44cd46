import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SluiceError } from '../../src/core/errors.js';
import { createParquetWriter, rawDecodeRowsPerSecond, readParquetMetadata } from '../../connectors/parquet/index.js';
import { readAll, sluice, tempDir } from './helpers.js';

describe('Parquet writer', () => {
  let dir = '';
  let cleanup = async (): Promise<void> => {};
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(() => cleanup());

  const columns = [
    { name: 'f', type: 'FLOAT' },
    { name: 'i', type: 'INT32' },
    { name: 'l', type: 'INT64' },
    { name: 't', type: 'TIMESTAMP_MILLIS' },
    { name: 's', type: 'STRING' },
  ] as const;

  it('a wrong type fails the batch naming the row and column; nothing of that batch is written', async () => {
    const p = join(dir, 'typed.parquet');
    const w = await createParquetWriter(p, { columns: [...columns], rowGroupSize: 2 });
    await w.writeRows([{ f: 0.5, i: 1, l: 2n, t: new Date(1000), s: 'a' }, { f: null, i: null, l: 7, t: 1500.9, extra: 'ignored' }]);
    const bad = [{ f: 1, i: 2, l: 3n, t: 4, s: 'ok' }, { f: 1, i: 2.5, l: 3n, t: 4, s: 'x' }, { f: 1, i: 2, l: 3n, t: 4, s: 42 }];
    await assert.rejects(w.writeRows(bad), (e: unknown) => {
      sluice('INVALID_INPUT', /row 1: column "i" expects INT32/)(e);
      assert.deepEqual((e as SluiceError).context.rows, [1, 2]);
      assert.equal((e as SluiceError).context.column, 'i');
      return true;
    });
    await assert.rejects(w.writeRows([{ l: 1.5 }]), sluice('INVALID_INPUT', /row 0: column "l" expects INT64/));
    await assert.rejects(w.writeRows([{ f: 'x' }]), sluice('INVALID_INPUT', /row 0: column "f" expects FLOAT, got string "x"/));
    await assert.rejects(w.writeRows([{}, 'no' as never]), sluice('INVALID_INPUT', /row 1: not an object/));
    await w.writeRows([bad[0]!]);
    assert.equal(w.rowsWritten, 3);
    await w.close();
    await assert.rejects(w.writeRows([{}]), sluice('INVALID_INPUT', /closed/));
    const info = await readParquetMetadata(p);
    assert.deepEqual(info.columns.map((c) => [c.name, c.type, c.parquetType]), [
      ['f', 'number', 'FLOAT'],
      ['i', 'number', 'INT32'],
      ['l', 'number', 'INT64'],
      ['t', 'timestamp', 'INT64 TIMESTAMP(MILLIS)'],
      ['s', 'string', 'BYTE_ARRAY UTF8'],
    ]);
    assert.deepEqual((await readAll(p, { batchSize: 10 })).rows, [
      { f: 0.5, i: 1, l: 2, t: 1000, s: 'a' },
      { f: null, i: null, l: 7, t: 1500, s: null },
      { f: 1, i: 2, l: 3, t: 4, s: 'ok' },
    ]);
  });

  it('infers types from the first batch (number, bigint, string, boolean, Date, object); null-only is an error', async () => {
    const p = join(dir, 'inferred.parquet');
    const w = await createParquetWriter(p);
    await assert.rejects(w.writeRows([{ a: 1, b: null }, { a: 2, b: undefined }]), sluice('INVALID_INPUT', /column "b".*pass columns/));
    await w.close();

    const p2 = join(dir, 'inferred2.parquet');
    const w2 = await createParquetWriter(p2, { codec: 'GZIP' });
    await w2.writeRows([{ n: 1, big: 5n, s: 'x', b: true, d: new Date(86_400_000), j: { k: [1, 'two'] } }, { n: null, big: null, s: null, b: null, d: null, j: null }]);
    await w2.close();
    const info = await readParquetMetadata(p2);
    assert.deepEqual(info.columns.map((c) => c.parquetType), ['DOUBLE', 'INT64', 'BYTE_ARRAY UTF8', 'BOOLEAN', 'INT64 TIMESTAMP(MILLIS)', 'BYTE_ARRAY JSON']);
    assert.deepEqual((await readAll(p2, { batchSize: 10 })).rows, [
      { n: 1, big: 5, s: 'x', b: true, d: 86_400_000, j: { k: [1, 'two'] } },
      { n: null, big: null, s: null, b: null, d: null, j: null },
    ]);
  });

  it('writeColumns takes Float64Array columns with null masks; rawDecodeRowsPerSecond reads a file', async () => {
    const p = join(dir, 'cols.parquet');
    const w = await createParquetWriter(p, { rowGroupSize: 3 });
    await w.writeColumns({ rows: 4, columns: { a: new Float64Array([1, NaN, 3, 4]), s: ['x', null, 'z', 'w'] }, nulls: { a: new Uint8Array([0, 1, 0, 0]) } });
    await assert.rejects(
      createParquetWriter(join(dir, 'bad.parquet'), { columns: [{ name: 'a', type: 'NUMBER' as never }] }),
      sluice('INVALID_INPUT', /type one of/),
    );
    await w.close();
    assert.deepEqual((await readAll(p, { batchSize: 2 })).rows, [{ a: 1, s: 'x' }, { a: null, s: null }, { a: 3, s: 'z' }, { a: 4, s: 'w' }]);
    const raw = await rawDecodeRowsPerSecond(p, ['a', 's']);
    assert.equal(raw.rows, 4);
    assert.ok(raw.rowsPerSecond > 0);
  });
});
