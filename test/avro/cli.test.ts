import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FLIGHT_V1, FLIGHT_V2, flight } from './helpers.js';

function sluice(args: string[], input = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [resolve('bin/sluice.js'), ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, SLUICE_SCHEMA_REGISTRY_URL: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(input);
    child.on('exit', (code) => done({ code, stdout, stderr }));
  });
}

test('topics produce/consume --format avro on the embedded log: schemas kept beside it, v1 and v2 read back, a bad line named', { timeout: 30_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-avro-cli-'));
  try {
    const d = ['--data-dir', join(dir, 'log')];
    await writeFile(join(dir, 'v1.avsc'), JSON.stringify(FLIGHT_V1));
    await writeFile(join(dir, 'v2.avsc'), JSON.stringify(FLIGHT_V2));
    const lines = (vs: unknown[]) => vs.map((v) => JSON.stringify(v)).join('\n') + '\n';
    const p1 = await sluice(['topics', 'produce', 'flights', '--format', 'avro', '--schema', join(dir, 'v1.avsc'), ...d], lines([flight(1), flight(2)]));
    assert.equal(p1.code, 0, p1.stderr);
    assert.match(p1.stderr, /produced 2 record\(s\) to flights as Avro \(schema id 1\)/);
    const p2 = await sluice(['topics', 'produce', 'flights', '--format', 'avro', '--schema', join(dir, 'v2.avsc'), ...d], lines([flight(3, { carrier: 'UA' })]));
    assert.match(p2.stderr, /as Avro \(schema id 2\)/);
    // Without --schema: the subject's latest version (v2).
    const p3 = await sluice(['topics', 'produce', 'flights', '--format', 'avro', ...d], lines([flight(4, { carrier: 'AA' })]));
    assert.match(p3.stderr, /as Avro \(schema id 2\)/);

    // Each record with its writer's schema...
    const raw = await sluice(['topics', 'consume', 'flights', '--format', 'avro', '--values', ...d]);
    assert.deepEqual(raw.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown), [flight(1), flight(2), flight(3, { carrier: 'UA' }), flight(4, { carrier: 'AA' })]);
    // ...or resolved to the subject's latest.
    const latest = await sluice(['topics', 'consume', 'flights', '--format', 'avro', '--subject', 'flights-value', '--values', ...d]);
    assert.deepEqual(latest.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { carrier: string }).carrier), ['unknown', 'unknown', 'UA', 'AA']);
    // Plain consume shows Avro bytes as base64 rather than garbling them.
    const plain = await sluice(['topics', 'consume', 'flights', '--max', '1', ...d]);
    assert.ok((JSON.parse(plain.stdout) as { value: string }).value.startsWith('AAAAAAE'), plain.stdout);

    const bad = await sluice(['topics', 'produce', 'flights', '--format', 'avro', '--schema', join(dir, 'v1.avsc'), ...d], lines([flight(5), { ...flight(6), distance: 'far' }]));
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /line 2: .*distance: "far" is not "double"/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
