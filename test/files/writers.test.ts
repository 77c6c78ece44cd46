import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SluiceError } from '../../src/core/errors.js';
import { createCsvWriter, createJsonlWriter, formatCsvCell, readJsonl } from '../../connectors/files/index.js';
import { collect, tempDir, values } from './helpers.js';

describe('writers', () => {
  let dir = '';
  let cleanup = async (): Promise<void> => {};
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(() => cleanup());

  it('JSONL: appends across writers, repairs a missing final newline, rejects writes after close', async () => {
    const path = join(dir, 'a', 'b', 'app.jsonl');
    const w1 = await createJsonlWriter(path);
    await w1.write([{ i: 1 }, { i: 2 }]);
    await w1.close();
    await w1.close(); // idempotent
    await writeFile(path, '{"i":3}', { flag: 'a' }); // a crash mid-write leaves no newline
    const w2 = await createJsonlWriter(path);
    await w2.write([{ i: 4 }]);
    await w2.close();
    assert.equal(await readFile(path, 'utf8'), '{"i":1}\n{"i":2}\n{"i":3}\n{"i":4}\n');
    await assert.rejects(w2.write([{ i: 5 }]), (e: unknown) => e instanceof SluiceError && e.code === 'INVALID_INPUT');
  });

  it('JSONL: a row that cannot be encoded fails the write and writes nothing of its batch', async () => {
    const path = join(dir, 'enc.jsonl');
    const w = await createJsonlWriter(path);
    await w.write([{ ok: 1 }]);
    const cyclic: Record<string, unknown> = { ok: 2 };
    cyclic.self = cyclic;
    await assert.rejects(w.write([{ ok: 2 }, cyclic]), (e: unknown) => e instanceof SluiceError && e.code === 'INVALID_INPUT' && /row 1/.test(e.message));
    // 64-bit integers (BigInt) are written as JSON numbers with every digit, nested too.
    await w.write([{ ok: 3, big: 12345678901234567890n, nested: { ids: [-9007199254740993n] } }]);
    await w.close();
    assert.equal(w.rowsWritten, 2);
    assert.equal(await readFile(path, 'utf8'), '{"ok":1}\n{"ok":3,"big":12345678901234567890,"nested":{"ids":[-9007199254740993]}}\n');
  });

  it('JSONL: many awaited large writes all land, in order', async () => {
    const path = join(dir, 'many.jsonl');
    const w = await createJsonlWriter(path);
    const batch = Array.from({ length: 2000 }, (_, i) => ({ i, pad: 'p'.repeat(100) }));
    for (let k = 0; k < 10; k++) await w.write(batch.map((r) => ({ ...r, k })));
    await w.close();
    const rows = values((await collect(readJsonl(path, { batchSize: 5000 }))).rows);
    assert.equal(rows.length, 20000);
    assert.deepEqual(rows[19999], { i: 1999, pad: 'p'.repeat(100), k: 9 });
  });

  it('CSV: quotes only the cells that need it', () => {
    const cases: [unknown, string][] = [
      ['plain', 'plain'], ['a,b', '"a,b"'], ['say "x"', '"say ""x"""'], ['l1\nl2', '"l1\nl2"'], ['cr\r', '"cr\r"'],
      [' lead', '" lead"'], ['trail ', '"trail "'], ['in side', 'in side'], [null, ''], [undefined, ''], ['', ''],
      [12.5, '12.5'], [false, 'false'], [{ a: 'x,"y"' }, '"{""a"":""x,\\""y\\""""}"'], [[1, 2], '"[1,2]"'], [['z'], '"[""z""]"'],
      [new Date('2024-01-02T03:04:05Z'), '2024-01-02T03:04:05.000Z'],
    ];
    for (const [v, want] of cases) assert.equal(formatCsvCell(v), want, JSON.stringify(v));
  });

  it('CSV: header from `columns` (order kept, other fields ignored) or from the first row', async () => {
    const p1 = join(dir, 'cols.csv');
    const w1 = await createCsvWriter(p1, { columns: ['b', 'a'] });
    await w1.write([{ a: 1, b: 'x', c: 'ignored' }, { a: null }]);
    await w1.close();
    assert.equal(await readFile(p1, 'utf8'), 'b,a\nx,1\n,\n');

    const p2 = join(dir, 'keys.csv');
    const w2 = await createCsvWriter(p2);
    await w2.write([{ z: 'a b', y: 'c,d' }, { y: 2, z: 1, extra: 3 }]);
    await w2.close();
    assert.equal(await readFile(p2, 'utf8'), 'z,y\na b,"c,d"\n1,2\n');

    const p3 = join(dir, 'only-header.csv');
    const w3 = await createCsvWriter(p3, { columns: ['x', 'y,z'] });
    await w3.close();
    assert.equal(await readFile(p3, 'utf8'), 'x,"y,z"\n');
  });

  it('CSV: appending to a file with a header keeps that header; conflicting columns are refused', async () => {
    const path = join(dir, 'append.csv');
    const w1 = await createCsvWriter(path);
    await w1.write([{ a: 1, b: 2 }]);
    await w1.close();
    const w2 = await createCsvWriter(path);
    await w2.write([{ b: 4, a: 3 }]);
    await w2.close();
    assert.equal(await readFile(path, 'utf8'), 'a,b\n1,2\n3,4\n');
    await assert.rejects(createCsvWriter(path, { columns: ['b', 'a'] }), (e: unknown) => e instanceof SluiceError && e.code === 'INVALID_INPUT');
  });
});
