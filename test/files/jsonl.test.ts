import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SluiceError } from '../../src/core/errors.js';
import { createJsonlWriter, readJsonl } from '../../connectors/files/index.js';
import { collect, errors, summary, tempDir, values } from './helpers.js';

describe('readJsonl', () => {
  let dir = '';
  let cleanup = async (): Promise<void> => {};
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(() => cleanup());

  const tricky = [
    { id: 1, name: 'Zoë 🚀 日本語', note: 'say "hi", then\nleave' },
    { id: 2, name: null, nested: { a: [1, 2, { b: 'c' }] }, empty: '' },
    { id: 3, 'weird key': '\u2028\u2029\t\\', n: -1.5e-7, t: true },
  ];

  it('round-trips rows through the writer (unicode, quotes, newlines, nulls)', async () => {
    const path = join(dir, 'sub', 'deeper', 'rt.jsonl');
    const w = await createJsonlWriter(path);
    await w.write(tricky.slice(0, 2));
    await w.write(tricky.slice(2));
    assert.equal(w.rowsWritten, 3);
    await w.close();
    const { rows } = await collect(readJsonl(path, { batchSize: 10 }));
    assert.deepEqual(values(rows), tricky);
    assert.deepEqual(rows.map((r) => r.line), [1, 2, 3]);
    assert.equal(rows[0]!.raw, JSON.stringify(tricky[0]));
  });

  it('gives the same rows for batch sizes 1, 3 and 1000; bytesRead grows to the file size', async () => {
    const path = join(dir, 'batch.jsonl');
    const all = Array.from({ length: 10 }, (_, i) => ({ i, s: 'x'.repeat(i) }));
    await writeFile(path, all.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const size = (await stat(path)).size;
    for (const batchSize of [1, 3, 1000]) {
      const { rows, batches } = await collect(readJsonl(path, { batchSize }));
      assert.deepEqual(values(rows), all, `batchSize ${batchSize}`);
      assert.deepEqual(batches.map((b) => b.rows.length), batchSize === 1 ? Array(10).fill(1) : batchSize === 3 ? [3, 3, 3, 1] : [10]);
      const bytes = batches.map((b) => b.bytesRead);
      assert.deepEqual(bytes, [...bytes].sort((a, b) => a - b));
      assert.equal(bytes.at(-1), size);
    }
    // Exact: after the first row, bytesRead is that line's length plus its newline.
    const first = await collect(readJsonl(path, { batchSize: 1 }));
    assert.equal(first.batches[0]!.bytesRead, JSON.stringify(all[0]).length + 1);
  });

  it('handles \\r\\n, blank lines, a BOM and a last line without newline; lines are 1-based file lines', async () => {
    const path = join(dir, 'crlf.jsonl');
    await writeFile(path, '\uFEFF{"a":1}\r\n\r\n   \n{"a":2}\r\n\n{"a":"é"}');
    const { rows } = await collect(readJsonl(path, { batchSize: 2 }));
    assert.deepEqual(summary(rows), [[1, { a: 1 }], [4, { a: 2 }], [6, { a: 'é' }]]);
  });

  it('turns bad lines into error rows naming file:line, and keeps going', async () => {
    const path = join(dir, 'bad.jsonl');
    await writeFile(path, ['{"ok":1}', '{"ok":2}', '{"broken": ', '[1,2]', '"str"', 'null', '{"ok":3}'].join('\n'));
    const { rows } = await collect(readJsonl(path, { batchSize: 3 }));
    assert.equal(rows.length, 7);
    const errs = errors(rows);
    assert.deepEqual(errs.map((e) => e.line), [3, 4, 5, 6]);
    assert.match(errs[0]!.message, new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:3: not valid JSON: `));
    assert.equal(errs[1]!.message, `${path}:4: expected a JSON object, got array`);
    assert.equal(errs[2]!.message, `${path}:5: expected a JSON object, got string`);
    assert.equal(errs[3]!.message, `${path}:6: expected a JSON object, got null`);
    assert.equal(errs[0]!.raw, '{"broken": ');
    const bad = rows[2]!;
    assert.ok('error' in bad && bad.error instanceof SluiceError && bad.error.code === 'DECODE_ERROR');
    assert.deepEqual(summary(rows).at(-1), [7, { ok: 3 }]);
  });

  it('reads the same rows with tiny chunks (lines and multibyte characters split across chunks)', async () => {
    const path = join(dir, 'chunks.jsonl');
    const text = tricky.map((r) => JSON.stringify(r)).join('\r\n') + '\r\n\r\nnot json\n' + JSON.stringify({ long: '€'.repeat(500) });
    await writeFile(path, text);
    const expected = summary((await collect(readJsonl(path, { batchSize: 100 }))).rows);
    assert.equal(expected.length, 5);
    for (const chunkSize of [1, 2, 3, 5, 7, 64, 333]) {
      const { rows, batches } = await collect(readJsonl(path, { batchSize: 2, chunkSize }));
      assert.deepEqual(summary(rows), expected, `chunkSize ${chunkSize}`);
      assert.equal(batches.at(-1)!.bytesRead, Buffer.byteLength(text));
    }
  });

  it('skipRows skips the first N data rows (error rows count, blank lines do not)', async () => {
    const path = join(dir, 'skip.jsonl');
    await writeFile(path, '{"i":0}\n\n{"i":1}\nbad\n{"i":2}\n{"i":3}\n');
    const { rows } = await collect(readJsonl(path, { batchSize: 2, skipRows: 3 }));
    assert.deepEqual(summary(rows), [[5, { i: 2 }], [6, { i: 3 }]]);
    assert.equal((await collect(readJsonl(path, { batchSize: 2, skipRows: 99 }))).rows.length, 0);
  });

  it('reports an oversized line as an error row and continues after it', async () => {
    const path = join(dir, 'huge.jsonl');
    await writeFile(path, `{"a":1}\n{"big":"${'x'.repeat(5000)}"}\n{"a":2}\n`);
    const { rows } = await collect(readJsonl(path, { batchSize: 10, chunkSize: 64, maxRowBytes: 1000 }));
    assert.deepEqual(summary(rows), [[1, { a: 1 }], [2, `ERR: ${path}:2: line is longer than 1000 bytes`], [3, { a: 2 }]]);
  });

  it('throws NOT_FOUND for a missing file and INVALID_INPUT for a bad batchSize', async () => {
    await assert.rejects(collect(readJsonl(join(dir, 'nope.jsonl'), { batchSize: 1 })), (e: unknown) => e instanceof SluiceError && e.code === 'NOT_FOUND');
    await assert.rejects(collect(readJsonl(join(dir, 'nope.jsonl'), { batchSize: 0 })), (e: unknown) => e instanceof SluiceError && e.code === 'INVALID_INPUT');
  });

  it('stops when the signal aborts', async () => {
    const path = join(dir, 'abort.jsonl');
    await writeFile(path, '{"a":1}\n'.repeat(100));
    const ac = new AbortController();
    let seen = 0;
    await assert.rejects(async () => {
      for await (const b of readJsonl(path, { batchSize: 10, signal: ac.signal })) {
        seen += b.rows.length;
        ac.abort();
      }
    }, { name: 'AbortError' });
    assert.equal(seen, 10);
  });
});
