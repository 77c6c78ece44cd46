/** `sluice run FILE --serve PORT`: the stream and the online server in one process, over a real socket; SIGTERM drains and exits 0. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EmbeddedLog } from '../../connectors/embedded/index.js';
import { SMALL_MLP } from './helpers.js';

test('run --serve answers from the running stream\'s state, and SIGTERM exits 0 after draining', { timeout: 90_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-run-serve-'));
  try {
    const log = await EmbeddedLog.open(join(dir, 'data'));
    await log.createTopic('txns', 1);
    await log.produce('txns', Array.from({ length: 9 }, (_, i) => ({ key: null, value: JSON.stringify({ card: `c${i % 3}`, amount: i }), timestamp: i })));
    await log.close();
    const topo = join(dir, 'topology.json');
    await writeFile(topo, JSON.stringify({
      name: 'cards',
      models: { risk: { path: SMALL_MLP, workers: 1 } },
      sources: { txns: { type: 'topic', topic: 'txns' } },
      pipeline: [
        { keyBy: { key: 'card' } },
        { aggregate: { id: 'per-card', aggregates: { n: { count: {} } } } },
        { map: { set: { f0: 'amount', f1: 'n', f2: '0', f3: '0', f4: '0', f5: '0', f6: '0', f7: '0' } } },
        { score: { model: 'risk', features: ['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7'] } },
        { sink: 'scored' },
      ],
      sinks: { scored: { type: 'topic', topic: 'scored' }, dlq: { type: 'topic', topic: 'dlq' } },
      deadLetter: 'dlq',
      online: { auth: { tokens: ['t0k'] } },
    }));
    const child = spawn(process.execPath, [resolve('bin/sluice.js'), 'run', topo, '--serve', '0', '--data-dir', join(dir, 'data')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    const url = await new Promise<string>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(stderr)), 30_000);
      const check = setInterval(() => {
        const m = /online: (http:\/\/\S+)/.exec(stderr);
        if (m) {
          clearInterval(check);
          clearTimeout(timer);
          ok(m[1]!);
        }
      }, 20);
    });
    try {
      const auth = { 'content-type': 'application/json', authorization: 'Bearer t0k' };
      assert.equal((await fetch(`${url}/v2/models/risk`)).status, 401);
      let n = 0;
      for (let i = 0; i < 100 && n !== 4; i++) {
        const r = await fetch(`${url}/v1/topologies/cards/score`, { method: 'POST', body: JSON.stringify({ card: 'c1', amount: 1 }), headers: auth });
        n = ((await r.json()) as { value: { n: number } }).value.n;
        if (n !== 4) await new Promise((res) => setTimeout(res, 50));
      }
      assert.equal(n, 4, 'c1\'s three records in the stream, and the request itself');
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, /draining online requests/);
    assert.match(stderr, /status\s+stopped/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
