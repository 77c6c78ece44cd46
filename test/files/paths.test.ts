import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SluiceError } from '../../src/core/errors.js';
import { expandPaths } from '../../connectors/files/index.js';
import { tempDir } from './helpers.js';

describe('expandPaths', () => {
  let dir = '';
  let cleanup = async (): Promise<void> => {};
  const files = ['a.csv', 'b.csv', 'c.jsonl', 'x1.csv', 'x22.csv', '.hidden.csv', 'data/d.jsonl', 'data/e.csv', 'data/2024/f.jsonl', 'data/2024/g.txt', 'data/.git/h.jsonl'];
  before(async () => {
    ({ dir, cleanup } = await tempDir());
    for (const f of files) {
      await mkdir(join(dir, f, '..'), { recursive: true });
      await writeFile(join(dir, f), 'x');
    }
    await symlink(join(dir, 'a.csv'), join(dir, 'data', 'link.csv'));
    await symlink(join(dir, 'data'), join(dir, 'data', '2024', 'loop')); // a directory link: not followed
  });
  after(() => cleanup());
  const abs = (...names: string[]): string[] => names.map((n) => join(dir, n));

  it('expands a file to itself (absolute), relative to baseDir or absolute', async () => {
    assert.deepEqual(await expandPaths('a.csv', dir), abs('a.csv'));
    assert.deepEqual(await expandPaths(join(dir, 'data', 'e.csv'), '/somewhere/else'), abs('data/e.csv'));
    assert.deepEqual(await expandPaths('../b.csv', join(dir, 'data')), abs('b.csv'));
  });

  it('expands a directory to its regular files, recursively and sorted, skipping hidden ones', async () => {
    assert.deepEqual(await expandPaths('data', dir), abs('data/2024/f.jsonl', 'data/2024/g.txt', 'data/d.jsonl', 'data/e.csv', 'data/link.csv'));
  });

  it('matches * and ? within one segment', async () => {
    assert.deepEqual(await expandPaths('*.csv', dir), abs('a.csv', 'b.csv', 'x1.csv', 'x22.csv'));
    assert.deepEqual(await expandPaths('x?.csv', dir), abs('x1.csv'));
    assert.deepEqual(await expandPaths('.*.csv', dir), abs('.hidden.csv'));
    assert.deepEqual(await expandPaths('data/*', dir), abs('data/d.jsonl', 'data/e.csv', 'data/link.csv'));
  });

  it('matches ** across any number of directories (including none)', async () => {
    assert.deepEqual(await expandPaths('**/*.jsonl', dir), abs('c.jsonl', 'data/2024/f.jsonl', 'data/d.jsonl'));
    assert.deepEqual(await expandPaths('data/**/f.*', dir), abs('data/2024/f.jsonl'));
    assert.deepEqual(await expandPaths('data/**', dir), await expandPaths('data', dir));
    assert.deepEqual(await expandPaths('**/2024/*.txt', dir), abs('data/2024/g.txt'));
  });

  it('throws NOT_FOUND naming the pattern and where it looked', async () => {
    for (const [pattern, where] of [['*.parquet', dir], ['nope/**/*.csv', join(dir, 'nope')], ['missing.csv', dir]] as const) {
      await assert.rejects(expandPaths(pattern, dir), (e: unknown) => {
        assert.ok(e instanceof SluiceError);
        assert.equal(e.code, 'NOT_FOUND');
        assert.equal(e.message, `no files match "${pattern}" (looked in ${where})`);
        return true;
      });
    }
  });
});
