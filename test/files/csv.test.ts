import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SluiceError } from '../../src/core/errors.js';
import { CsvParser, createCsvWriter, inferCell, readCsv } from '../../connectors/files/index.js';
import { collect, errors, summary, tempDir, values } from './helpers.js';

/** Parses text fed in the given pieces; returns rows and errors in order. */
function parsePieces(pieces: string[]): [number, string, string[] | string][] {
  const out: [number, string, string[] | string][] = [];
  const p = new CsvParser({
    row: (cells, line, raw) => out.push([line, raw, cells]),
    error: (message, line, raw) => out.push([line, raw, message]),
  });
  for (const s of pieces) p.push(s);
  p.end();
  return out;
}

describe('CsvParser', () => {
  const text = 'a,"b,1","say ""hi"""\r\n\r\n"multi\r\nline ✓","",x\n"bad"x,1\nq"uote,2\n😀,,\r"tail",🚀';

  it('parses RFC 4180 fields, reports bad rows, and keeps going', () => {
    assert.deepEqual(parsePieces([text]), [
      [1, 'a,"b,1","say ""hi"""', ['a', 'b,1', 'say "hi"']],
      [3, '"multi\r\nline ✓","",x', ['multi\r\nline ✓', '', 'x']],
      [5, '"bad"x,1', 'unexpected character after closing quote (column 1)'],
      [6, 'q"uote,2', 'unexpected quote in unquoted field (column 1)'],
      [7, '😀,,', ['😀', '', '']],
      [8, '"tail",🚀', ['tail', '🚀']],
    ]);
  });

  it('gives the same result for every split of the input into two chunks', () => {
    const whole = parsePieces([text]);
    for (let i = 0; i <= text.length; i++) {
      assert.deepEqual(parsePieces([text.slice(0, i), text.slice(i)]), whole, `split at ${i}`);
    }
    assert.deepEqual(parsePieces([...text]), whole, 'one character per chunk');
  });

  it('reports an unterminated quoted field at end of input', () => {
    assert.deepEqual(parsePieces(['x\n"open,\n', 'more']), [
      [1, 'x', ['x']],
      [2, '"open,\nmore', 'unterminated quoted field at end of file'],
    ]);
  });
});

describe('inferCell', () => {
  it('turns strict numbers into numbers, empty into null, and leaves the rest as strings', () => {
    const cases: [string, unknown][] = [
      ['0', 0], ['42', 42], ['-7', -7], ['3.25', 3.25], ['-0.5', -0.5], ['1e3', 1000], ['2.5E-2', 0.025], ['1e+2', 100],
      ['', null], ['true', 'true'], ['false', 'false'], ['007', '007'], ['1.', '1.'], ['.5', '.5'], ['+1', '+1'],
      [' 1', ' 1'], ['1 ', '1 '], ['0x10', '0x10'], ['NaN', 'NaN'], ['1e999', '1e999'], ['12345678901234567890', '12345678901234567890'],
      ['1,5', '1,5'], ['--1', '--1'],
    ];
    for (const [cell, want] of cases) assert.equal(inferCell(cell), want, JSON.stringify(cell));
  });
});

describe('readCsv', () => {
  let dir = '';
  let cleanup = async (): Promise<void> => {};
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(() => cleanup());

  it('round-trips rows through the writer (unicode, quotes, commas, newlines, nulls, spaces, objects)', async () => {
    const path = join(dir, 'out', 'rt.csv');
    const rows = [
      { id: 1, name: 'Zoë, "the" 🚀', note: 'line1\nline2\r\nline3', score: 0.25, missing: null },
      { id: 2, name: ' padded ', note: '日本語', score: -3, missing: null },
      { id: 3, name: 'plain', note: '', score: 1e21, missing: null },
    ];
    const w = await createCsvWriter(path);
    await w.write(rows.slice(0, 1));
    await w.write([...rows.slice(1), { id: 4, name: { a: [1, 'x,y'] }, note: undefined, score: true, missing: 'extra' }]);
    await w.close();
    assert.equal(w.rowsWritten, 4);
    const back = values((await collect(readCsv(path, { batchSize: 2 }))).rows);
    assert.deepEqual(back, [
      ...rows.map((r) => ({ ...r, note: r.note === '' ? null : r.note })),
      { id: 4, name: '{"a":[1,"x,y"]}', note: null, score: 'true', missing: 'extra' },
    ]);
    const strings = values((await collect(readCsv(path, { batchSize: 2, inferTypes: false }))).rows);
    assert.deepEqual(strings[0], { id: '1', name: 'Zoë, "the" 🚀', note: 'line1\nline2\r\nline3', score: '0.25', missing: '' });
  });

  it('gives the same rows for batch sizes 1, 3 and 1000', async () => {
    const path = join(dir, 'batch.csv');
    await writeFile(path, 'n,s\n' + Array.from({ length: 10 }, (_, i) => `${i},"v${i}\n${i}"`).join('\n') + '\n');
    const size = (await stat(path)).size;
    const want = Array.from({ length: 10 }, (_, i) => ({ n: i, s: `v${i}\n${i}` }));
    for (const batchSize of [1, 3, 1000]) {
      const { rows, batches } = await collect(readCsv(path, { batchSize }));
      assert.deepEqual(values(rows), want, `batchSize ${batchSize}`);
      assert.deepEqual(rows.map((r) => r.line), [2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
      assert.equal(batches.length, Math.ceil(10 / batchSize));
      assert.ok(batches.slice(0, -1).every((b) => b.rows.length === batchSize));
      assert.equal(batches.at(-1)!.bytesRead, size);
    }
  });

  it('reads a file bigger than one chunk with a multi-line quoted cell across the chunk boundary', async () => {
    const path = join(dir, 'big.csv');
    const head = 'id,text\n';
    const filler: string[] = [];
    let len = head.length;
    for (let i = 0; len < (1 << 20) - 40; i++) {
      const line = `${i},row ${i} ✓\n`;
      filler.push(line);
      len += Buffer.byteLength(line);
    }
    const cell = 'starts before the boundary\r\n"quoted" ✓, and\nends after it '.repeat(4);
    const text = head + filler.join('') + `-1,"${cell.replaceAll('"', '""')}"\r\n-2,last`;
    await writeFile(path, text);
    const { rows } = await collect(readCsv(path, { batchSize: 1000 })); // default 1 MiB chunks
    const vals = values(rows);
    assert.equal(vals.length, filler.length + 2);
    assert.deepEqual(vals[500], { id: 500, text: 'row 500 ✓' });
    assert.deepEqual(vals.at(-2), { id: -1, text: cell });
    assert.deepEqual(vals.at(-1), { id: -2, text: 'last' });
    assert.equal(rows.at(-2)!.line, filler.length + 2); // after the header and the filler
    assert.equal(rows.at(-1)!.line, filler.length + 2 + 9); // the cell spans 9 lines
    // Small chunks agree too.
    const small = await collect(readCsv(path, { batchSize: 1000, chunkSize: 4093 }));
    assert.deepEqual(summary(small.rows), summary(rows));
  });

  it('turns each malformed row into an error row with file:line and keeps going', async () => {
    const path = join(dir, 'bad.csv');
    await writeFile(path, ['a,b,c,d,e', '1,2,3,4,5', '1,2,3,4', '1,2,3,4,5,6', 'x,y"z,3,4,5', '"q"r,2,3,4,5', '6,7,8,9,10', '"never closed,2'].join('\n'));
    const { rows } = await collect(readCsv(path, { batchSize: 2 }));
    assert.deepEqual(summary(rows), [
      [2, { a: 1, b: 2, c: 3, d: 4, e: 5 }],
      [3, `ERR: ${path}:3: expected 5 columns (a,b,c,d,e), got 4`],
      [4, `ERR: ${path}:4: expected 5 columns (a,b,c,d,e), got 6`],
      [5, `ERR: ${path}:5: unexpected quote in unquoted field (column 2)`],
      [6, `ERR: ${path}:6: unexpected character after closing quote (column 1)`],
      [7, { a: 6, b: 7, c: 8, d: 9, e: 10 }],
      [8, `ERR: ${path}:8: unterminated quoted field at end of file`],
    ]);
    const errs = errors(rows);
    assert.equal(errs[0]!.raw, '1,2,3,4');
    const e = rows[1]!;
    assert.ok('error' in e && e.error.code === 'DECODE_ERROR' && e.error.context.line === 3);
  });

  it('throws INVALID_INPUT at the start for duplicate or empty header names', async () => {
    for (const [name, header] of [['dup', 'a,b,a'], ['empty', 'a,,c'], ['blank', 'a, ,c']] as const) {
      const path = join(dir, `${name}.csv`);
      await writeFile(path, `${header}\n1,2,3\n`);
      await assert.rejects(collect(readCsv(path, { batchSize: 1 })), (err: unknown) => {
        assert.ok(err instanceof SluiceError);
        assert.equal(err.code, 'INVALID_INPUT');
        assert.match(err.message, new RegExp(`${name}\\.csv:1: header`));
        return true;
      });
    }
  });

  it('skipRows skips the first N data rows after the header (error rows count)', async () => {
    const path = join(dir, 'skip.csv');
    await writeFile(path, 'k\r\n1\r\n"bad"x\r\n\r\n3\r\n4\r\n');
    const { rows } = await collect(readCsv(path, { batchSize: 5, skipRows: 2 }));
    assert.deepEqual(summary(rows), [[5, { k: 3 }], [6, { k: 4 }]]);
  });

  it('strips a BOM, reads an empty file as no rows, keeps "__proto__" as a plain column', async () => {
    const path = join(dir, 'bom.csv');
    await writeFile(path, '\uFEFF__proto__,b\n1,2\n');
    const [row] = values((await collect(readCsv(path, { batchSize: 5 }))).rows);
    assert.deepEqual(Object.keys(row!), ['__proto__', 'b']);
    assert.equal(Object.getPrototypeOf(row), Object.prototype);
    await writeFile(join(dir, 'empty.csv'), '');
    assert.equal((await collect(readCsv(join(dir, 'empty.csv'), { batchSize: 5 }))).rows.length, 0);
    await assert.rejects(collect(readCsv(join(dir, 'missing.csv'), { batchSize: 5 })), { code: 'NOT_FOUND' });
  });
});
