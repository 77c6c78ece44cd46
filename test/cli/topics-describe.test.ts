import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EmbeddedLog } from '../../connectors/embedded/index.js';
import type { TopicDescription } from '../../connectors/kafka/topic-ops.js';

function sluice(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [resolve('bin/sluice.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SLUICE_KAFKA_BROKERS: '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => done({ code, stdout, stderr }));
  });
}

test('topics describe on the embedded log: partitions, end offsets, each group\'s committed offsets and lag', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-describe-'));
  try {
    const log = await EmbeddedLog.open(dir);
    await log.createTopic('ev', 2);
    await log.append('ev', 0, Array.from({ length: 5 }, (_, i) => ({ key: null, value: `{"i":${i}}`, timestamp: 1 })));
    await log.append('ev', 1, Array.from({ length: 3 }, (_, i) => ({ key: null, value: `{"i":${i}}`, timestamp: 1 })));
    await log.commit({ offsets: [{ group: 'job-a', topic: 'ev', partition: 0, offset: 4 }, { group: 'job-a', topic: 'ev', partition: 1, offset: 3 }, { group: 'job-b', topic: 'ev', partition: 1, offset: 1 }] });
    await log.close();

    const json = await sluice(['topics', 'describe', 'ev', '--json', '--data-dir', dir]);
    assert.equal(json.code, 0, json.stderr);
    const d = JSON.parse(json.stdout) as TopicDescription;
    assert.deepEqual(d.partitions, [{ partition: 0, start: 0, end: 5 }, { partition: 1, start: 0, end: 3 }]);
    assert.deepEqual(d.groups, [
      { group: 'job-a', partitions: [{ partition: 0, committed: 4, lag: 1 }, { partition: 1, committed: 3, lag: 0 }], totalLag: 1 },
      { group: 'job-b', partitions: [{ partition: 0, committed: null, lag: null }, { partition: 1, committed: 1, lag: 2 }], totalLag: 2 },
    ]);

    const text = await sluice(['topics', 'describe', 'ev', '--data-dir', dir]);
    assert.match(text.stdout, /topic ev on the embedded log in .*: 2 partition\(s\), 8 record\(s\)/);
    assert.match(text.stdout, /^job-b\t1\t1\t3\t2$/m);
    assert.match(text.stdout, /^job-a\ttotal lag 1$/m);

    const missing = await sluice(['topics', 'describe', 'nope', '--data-dir', dir]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /NOT_FOUND: .*"nope"/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
