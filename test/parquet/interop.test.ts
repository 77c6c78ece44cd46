// Types survive the trip: a Parquet file written by pyarrow (every flat column type,
// nested int64 lists and structs) goes through `sluice backfill` into Parquet, JSONL and
// CSV sinks; pyarrow (another reader) and sluice read the Parquet output back with the
// types it was written with, keep: order first, then added fields typed by their values;
// JSONL and CSV carry the 64-bit integers exactly. pyarrow comes from PyPI through
// scripts/python/install-pyarrow.sh (which .ci/run runs); under CI=true a missing
// pyarrow fails these tests instead of skipping them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readParquetColumns, readParquetMetadata } from '../../connectors/parquet/index.js';
import { cli, partFiles } from '../batch/helpers.js';

const PYTHON = process.env.PYARROW_PYTHON ?? resolve('.cache/pyarrow-venv/bin/python');
const hasPyarrow = spawnSync(PYTHON, ['-c', 'import pyarrow'], { stdio: 'ignore' }).status === 0;
const why = `pyarrow is not installed for ${PYTHON}: run bash scripts/python/install-pyarrow.sh`;
if (!hasPyarrow && process.env.CI !== 'true') console.error(`SKIPPING Parquet interop tests: ${why}`);
const opts = { timeout: 120_000, skip: !hasPyarrow && process.env.CI !== 'true' ? why : false };

function python(script: string, ...args: string[]): string {
  assert.ok(hasPyarrow, why);
  const r = spawnSync(PYTHON, ['-c', script, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

const WRITE = `
import sys, datetime as dt, pyarrow as pa, pyarrow.parquet as pq
n = 6
utc = dt.timezone.utc
pq.write_table(pa.table({
  'ts_utc': pa.array([dt.datetime(2024, 1, 1, 12, 0, 0, 123456, tzinfo=utc) + dt.timedelta(hours=i) for i in range(n)], pa.timestamp('us', tz='UTC')),
  'ts_local': pa.array([dt.datetime(2024, 3, 1, 8, 30) + dt.timedelta(minutes=i) for i in range(n)], pa.timestamp('ms')),
  'ts_ns': pa.array([dt.datetime(2024, 5, 1, tzinfo=utc) + dt.timedelta(seconds=i) for i in range(n)], pa.timestamp('ns', tz='UTC')),
  'day': pa.array([dt.date(2024, 1, 1 + i) for i in range(n)], pa.date32()),
  'i64': pa.array([2**53 - 1 - i for i in range(n)], pa.int64()),
  'huge': pa.array([2**60 + 1 + i for i in range(n)], pa.int64()),
  'i32': pa.array([-2**31 + i for i in range(n)], pa.int32()),
  'i16': pa.array([i - 2 for i in range(n)], pa.int16()),
  'flag': pa.array([i % 2 == 0 for i in range(n)], pa.bool_()),
  'name': pa.array([f'n{i}' for i in range(n)], pa.string()),
  'f64': pa.array([i / 3 for i in range(n)], pa.float64()),
  'f32': pa.array([i / 4 for i in range(n)], pa.float32()),
  'ids': pa.array([[2**62 + i, i] for i in range(n)], pa.list_(pa.int64())),
  'pt': pa.array([{'a': 2**60 + i, 'b': 'x'} for i in range(n)], pa.struct([('a', pa.int64()), ('b', pa.string())])),
}), sys.argv[1])
`;

const READ = `
import sys, json, glob, pyarrow.parquet as pq
t = pq.read_table(glob.glob(sys.argv[1] + '/part-*.parquet')[0])
print(json.dumps({'schema': [[f.name, str(f.type)] for f in t.schema], 'rows': t.to_pylist()}, default=str))
`;

async function backfill(dir: string, format: string, keep: string[]): Promise<string> {
  const file = join(dir, `t-${format}.yaml`);
  await writeFile(file, [
    `name: types-${format}`,
    'sources: { in: { type: file, path: in.parquet, format: parquet } }',
    'pipeline:',
    `  - map: { set: { twice: "i32 * 2", big: "f64 > 0.5", label: "concat(name, '!')" }, keep: [${keep.join(', ')}] }`,
    '  - sink: out',
    'sinks:',
    `  out: { type: file, path: out-${format}, format: ${format} }`,
    '  dlq: { type: file, path: dlq, format: jsonl }',
    'deadLetter: dlq',
  ].join('\n'));
  const r = await cli(['backfill', file, '--no-progress', '--data-dir', join(dir, 'data')]);
  assert.equal(r.code, 0, r.stderr);
  return join(dir, `out-${format}`);
}

const KEEP = ['name', 'ts_ns', 'i64', 'flag', 'ts_utc', 'ts_local', 'day', 'i32', 'i16', 'f64', 'f32'];

test('pyarrow reads back from a Parquet sink the types pyarrow wrote, in keep: order, added fields typed by their values', opts, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-interop-'));
  try {
    python(WRITE, join(dir, 'in.parquet'));
    const input = JSON.parse(python(READ.replace("'/part-*.parquet'", "'/in.parquet'"), dir)) as { rows: Record<string, unknown>[] };
    const out = await backfill(dir, 'parquet', [...KEEP, 'huge', 'twice', 'big', 'label']);
    const got = JSON.parse(python(READ, out)) as { schema: [string, string][]; rows: Record<string, unknown>[] };
    assert.deepEqual(got.schema, [
      ['name', 'string'], ['ts_ns', 'timestamp[ns, tz=UTC]'], ['i64', 'int64'], ['flag', 'bool'], ['ts_utc', 'timestamp[us, tz=UTC]'],
      ['ts_local', 'timestamp[ms]'], ['day', 'date32[day]'], ['i32', 'int32'], ['i16', 'int32'], ['f64', 'double'], ['f32', 'float'],
      ['huge', 'int64'], ['twice', 'double'], ['big', 'bool'], ['label', 'string'],
    ]);
    // Flat int64 columns are read as doubles: past 2^53 the type survives, the low bits do not (README).
    assert.deepEqual(got.rows.map((r) => r.huge), Array(6).fill(2 ** 60));
    // The same values (pyarrow's own text for each), microseconds and the largest exact int64 included.
    assert.equal(got.rows.length, 6);
    got.rows.forEach((row, i) => {
      for (const c of KEEP) assert.equal(row[c], input.rows[i]![c], `row ${i} ${c}`);
      assert.equal(row.twice, 2 * (input.rows[i]!.i32 as number));
      assert.equal(row.big, (input.rows[i]!.f64 as number) > 0.5);
      assert.equal(row.label, `${String(input.rows[i]!.name)}!`);
    });
    assert.equal(got.rows[0]!.ts_utc, '2024-01-01 12:00:00.123456+00:00');
    assert.equal(got.rows[0]!.i64, 2 ** 53 - 1);

    // sluice reads the same types back.
    const [part] = await partFiles(out);
    const info = await readParquetMetadata(part!);
    assert.deepEqual(info.columns.map((c) => [c.name, c.parquetType]), [
      ['name', 'BYTE_ARRAY UTF8'], ['ts_ns', 'INT64 TIMESTAMP(NANOS)'], ['i64', 'INT64'], ['flag', 'BOOLEAN'], ['ts_utc', 'INT64 TIMESTAMP(MICROS)'],
      ['ts_local', 'INT64 TIMESTAMP(MILLIS)'], ['day', 'INT32 DATE'], ['i32', 'INT32'], ['i16', 'INT32'], ['f64', 'DOUBLE'], ['f32', 'FLOAT'],
      ['huge', 'INT64'], ['twice', 'DOUBLE'], ['big', 'BOOLEAN'], ['label', 'BYTE_ARRAY UTF8'],
    ]);
    for await (const b of readParquetColumns(part!, { batchSize: 100 })) {
      assert.deepEqual(b.types.ts_local, { type: 'TIMESTAMP_MILLIS', utc: false });
      assert.deepEqual(b.types.ts_utc, { type: 'TIMESTAMP_MICROS', utc: true });
      assert.deepEqual(b.types.i64, { type: 'INT64' });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('JSONL and CSV sinks write 64-bit integers, nested in lists and structs too, with every digit', opts, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-interop-'));
  try {
    python(WRITE, join(dir, 'in.parquet'));
    const jsonl = await readFile((await partFiles(await backfill(dir, 'jsonl', ['ids', 'pt', 'i64', 'flag', 'name'])))[0]!, 'utf8');
    const lines = jsonl.trim().split('\n');
    assert.equal(lines.length, 6);
    assert.equal(lines[1], '{"ids":[4611686018427387905,1],"pt":{"a":1152921504606846977,"b":"x"},"i64":9007199254740990,"flag":false,"name":"n1"}');
    // Another reader agrees: pyarrow's JSON reader parses the digits as int64.
    await writeFile(join(dir, 'out.jsonl'), jsonl);
    const viaArrow = python("import sys, pyarrow.json as pj; t = pj.read_json(sys.argv[1]); print(t.schema.field('pt').type, t.column('ids').to_pylist()[1][0])", join(dir, 'out.jsonl'));
    assert.equal(viaArrow.trim(), 'struct<a: int64, b: string> 4611686018427387905');
    const csv = await readFile((await partFiles(await backfill(dir, 'csv', ['ids', 'pt', 'i64', 'flag', 'name'])))[0]!, 'utf8');
    assert.equal(csv.split('\n')[0], 'ids,pt,i64,flag,name');
    assert.equal(csv.split('\n')[2], '"[4611686018427387905,1]","{""a"":1152921504606846977,""b"":""x""}",9007199254740990,false,n1');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
