import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { EmbeddedLog } from '../../connectors/embedded/index.js';
import { tempDir } from './helpers.js';

const moduleUrl = new URL('../../connectors/embedded/index.js', import.meta.url).href;

test('after kill -9 mid-append, reopen finds every acknowledged record, offsets dense', async () => {
  const dir = await tempDir();
  try {
    // The child appends batches of 10 with value = offset, printing each acknowledged end.
    const script = `import { EmbeddedLog } from ${JSON.stringify(moduleUrl)};
      const log = await EmbeddedLog.open(${JSON.stringify(dir)});
      await log.createTopic('t', 1);
      for (let next = 0; ; next += 10) {
        const recs = Array.from({ length: 10 }, (_, i) => ({ key: null, value: String(next + i), timestamp: 0 }));
        const base = await log.append('t', 0, recs);
        process.stdout.write(base + 10 + '\\n');
      }`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let acked = 0;
    await new Promise<void>((resolve) => {
      let buf = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buf += chunk.toString();
        const lines = buf.split('\n');
        buf = lines.pop() ?? '';
        for (const line of lines) acked = Math.max(acked, Number(line));
        if (acked >= 500 && child.exitCode === null && !child.killed) child.kill('SIGKILL');
      });
      child.on('exit', () => resolve());
    });
    assert.equal(child.signalCode, 'SIGKILL', 'the child was killed, not stopped by an error');

    const log = await EmbeddedLog.open(dir);
    try {
      const end = log.endOffset('t', 0);
      assert.ok(end >= acked, `end ${end} < acknowledged ${acked}`);
      const all = await log.read('t', 0, 0, end);
      assert.equal(all.length, end);
      all.forEach((r, i) => assert.equal(r.value, String(i)));
      assert.equal(await log.append('t', 0, [{ key: null, value: 'next', timestamp: 0 }]), end);
    } finally {
      await log.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
