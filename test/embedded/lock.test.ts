import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { EmbeddedLog } from '../../connectors/embedded/index.js';
import { tempDir } from './helpers.js';

const run = promisify(execFile);
const moduleUrl = new URL('../../connectors/embedded/index.js', import.meta.url).href;

test('a second open of the same directory fails with a clear message', async () => {
  const dir = await tempDir();
  const log = await EmbeddedLog.open(dir);
  try {
    // The real case: another process. Asked twice, around an open in this process,
    // because a refused in-process LevelDB open used to drop the cross-process lock.
    const script = `import { EmbeddedLog } from ${JSON.stringify(moduleUrl)};
      try { await EmbeddedLog.open(${JSON.stringify(dir)}); console.log(JSON.stringify({ code: 'opened' })); }
      catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;
    const inUse = new RegExp(`embedded log at "${dir}" is in use by another process \\(.*LOCK.*\\); stop it or use another data directory`);
    const openFromChild = async (): Promise<void> => {
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script]);
      const err = JSON.parse(stdout) as { code: string; message: string };
      assert.equal(err.code, 'STORAGE_ERROR');
      assert.match(err.message, inUse);
    };
    await openFromChild();
    await assert.rejects(EmbeddedLog.open(dir), { code: 'STORAGE_ERROR', message: /is already open in this process; close it first/ });
    await openFromChild();
  } finally {
    await log.close();
    // Closed: this process may open it again.
    await (await EmbeddedLog.open(dir)).close();
    await rm(dir, { recursive: true, force: true });
  }
});
