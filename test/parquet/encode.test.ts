import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { createParquetWriter, type ParquetCodec, type ParquetWriterColumn } from '../../connectors/parquet/index.js';
import { readAll, tempDir } from './helpers.js';

/** Reads a file with hyparquet itself (not sluice's reader): rows and footer. */
async function hyparquet(path: string): Promise<{ rows: Record<string, unknown>[]; meta: ReturnType<typeof parquetMetadata> }> {
  const b = await readFile(path);
  const file = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  return { rows: await parquetReadObjects({ file, compressors }), meta: parquetMetadata(file) };
}

const COLUMNS: ParquetWriterColumn[] = [
  { name: 'd', type: 'DOUBLE' },
  { name: 'f', type: 'FLOAT' },
  { name: 'i', type: 'INT32' },
  { name: 'l', type: 'INT64' },
  { name: 't', type: 'TIMESTAMP_MILLIS' },
  { name: 's', type: 'STRING' },
  { name: 'b', type: 'BOOLEAN' },
  { name: 'j', type: 'JSON' },
];

function row(i: number, nulls: boolean): Record<string, unknown> {
  const skip = (k: number): boolean => nulls && i % k === 1;
  return {
    d: skip(3) ? null : i * 0.25 - 7,
    f: skip(4) ? null : i / 2,
    i: skip(5) ? null : i - 500,
    l: skip(6) ? null : BigInt(i) * 10_000_000_019n - 9_000_000_000_000n,
    t: skip(7) ? null : -86_400_000 * 3 + i * 3_600_000_123, // before and after 1970, beyond 2^32
    s: skip(8) ? null : ['Zoë', '🚀', '', 'plain', '日本'][i % 5]!,
    b: skip(9) ? null : i % 3 === 0,
    j: skip(10) ? null : { k: i, a: [i % 2 === 0] },
  };
}

/** What reading gives back: int64 and timestamps as numbers, the float rounded to float32. */
function expected(r: Record<string, unknown>): Record<string, unknown> {
  return { ...r, l: r.l === null ? null : Number(r.l), f: r.f === null ? null : Math.fround(r.f as number) };
}

describe('Parquet encoder (flat columns)', () => {
  let dir = '';
  let cleanup = async (): Promise<void> => {};
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(() => cleanup());

  for (const codec of ['SNAPPY', 'UNCOMPRESSED', 'GZIP'] as ParquetCodec[]) {
    for (const nulls of [false, true]) {
      it(`every type round-trips through hyparquet and sluice's reader (${codec}, ${nulls ? 'with' : 'without'} nulls)`, async () => {
        const path = join(dir, `types-${codec}-${nulls}.parquet`);
        const rows = Array.from({ length: 700 }, (_, i) => row(i, nulls));
        const w = await createParquetWriter(path, { columns: COLUMNS, rowGroupSize: 256, codec });
        await w.writeRows(rows.slice(0, 300));
        await w.writeRows(rows.slice(300));
        await w.close();
        const { rows: back, meta } = await hyparquet(path);
        assert.equal(meta.row_groups.length, 3);
        const want = rows.map(expected);
        // hyparquet gives bigint for INT64 and Date for timestamps; compare as numbers.
        assert.deepEqual(back.map((r) => ({ ...r, l: r.l === null ? null : Number(r.l), t: r.t === null ? null : (r.t as Date).getTime() })), want);
        assert.deepEqual((await readAll(path, { batchSize: 100 })).rows, want);
      });
    }
  }

  it('writes statistics for integers, timestamps and strings (min/max in UTF-8 byte order), not floats', async () => {
    const path = join(dir, 'stats.parquet');
    const rows = Array.from({ length: 50 }, (_, i) => row(i, true));
    const w = await createParquetWriter(path, { columns: COLUMNS });
    await w.writeRows(rows);
    await w.close();
    const { meta } = await hyparquet(path);
    const stats = Object.fromEntries(meta.row_groups[0]!.columns.map((c) => [c.meta_data!.path_in_schema[0], c.meta_data!.statistics]));
    assert.equal(stats.d, undefined);
    assert.equal(stats.f, undefined);
    const nonNull = rows.filter((r) => r.i !== null).map((r) => r.i as number);
    assert.deepEqual([stats.i?.min_value, stats.i?.max_value, stats.i?.null_count], [Math.min(...nonNull), Math.max(...nonNull), BigInt(rows.length - nonNull.length)]);
    assert.equal(stats.s?.min_value, '');
    assert.equal(stats.s?.max_value, '🚀'); // U+1F680 sorts after 日 (U+65E5) in UTF-8, not in UTF-16
    assert.equal(stats.t?.null_count, BigInt(rows.filter((r) => r.t === null).length));
  });

  it('many distinct strings fall back to PLAIN; large chunks split into pages; all-null chunks', async () => {
    const path = join(dir, 'plain.parquet');
    const n = 40_000;
    const w = await createParquetWriter(path, { columns: [{ name: 's', type: 'STRING' }, { name: 'd', type: 'DOUBLE' }, { name: 'none', type: 'STRING' }], rowGroupSize: n });
    const rows = Array.from({ length: n }, (_, i) => ({ s: i % 17 === 0 ? null : `value ${i} ${'x'.repeat(i % 40)}`, d: i, none: null }));
    await w.writeColumns({ rows: n, columns: { s: rows.map((r) => r.s), d: Float64Array.from(rows, (r) => r.d), none: rows.map(() => null) }, nulls: {} });
    await w.close();
    const { rows: back, meta } = await hyparquet(path);
    const [s, , none] = meta.row_groups[0]!.columns.map((c) => c.meta_data!);
    assert.deepEqual(s!.encodings, ['PLAIN']);
    assert.equal(none!.statistics?.null_count, BigInt(n));
    assert.deepEqual(back, rows);
    assert.deepEqual((await readAll(path, { batchSize: 4096 })).rows, rows);
  });

  it('a Float64Array column without nulls is written as it is (dense path), NaN kept as a value', async () => {
    const path = join(dir, 'dense.parquet');
    const d = new Float64Array([1.5, NaN, -0, Infinity, 3]);
    const w = await createParquetWriter(path, { rowGroupSize: 2 });
    await w.writeColumns({ rows: 5, columns: { d }, nulls: {} });
    await w.close();
    const back = (await hyparquet(path)).rows.map((r) => r.d);
    assert.deepEqual(back, [1.5, NaN, -0, Infinity, 3]);
  });
});
