/**
 * Triton's Python HTTP client (a well-known Open Inference Protocol client), unmodified,
 * against sluice over a real socket. Installed by scripts/python/install-client.sh (which
 * .ci/run calls); without it the test skips loudly, or fails under CI=true / REQUIRE_KAFKA=1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { directRun } from '../model/helpers.js';
import { ROOT, SMALL_MLP, smallTopology, startService } from './helpers.js';

const PYTHON = join(process.env.SLUICE_PYCLIENT_DIR ?? join(ROOT, '.cache/pyclient'), 'bin/python');
const required = process.env.CI === 'true' || process.env.REQUIRE_KAFKA === '1';
const usable = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import tritonclient.http'], { stdio: 'ignore' }).status === 0;
if (!usable) {
  const msg = `Triton's Python client is not installed at ${PYTHON}: run bash scripts/python/install-client.sh`;
  if (required) throw new Error(`${msg} (required: CI=true or REQUIRE_KAFKA=1)`);
  process.stderr.write(`\n*** SKIPPING the tritonclient test: ${msg} ***\n\n`);
}

test('tritonclient[http] works against sluice unmodified', { skip: !usable }, async () => {
  const s = await startService(smallTopology());
  try {
    const url = new URL(await s.listen());
    const r = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn(PYTHON, [join(ROOT, 'test/fixtures/triton_client.py'), url.host]);
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d));
      child.stderr.on('data', (d: Buffer) => (err += d));
      child.on('exit', (code: number | null) => resolve({ code, out, err }));
    });
    assert.equal(r.code, 0, r.err);
    const seen = JSON.parse(r.out);
    assert.equal(seen.live, true);
    assert.equal(seen.ready, true);
    assert.equal(seen.server.name, 'sluice');
    assert.deepEqual(seen.metadata.inputs, [{ name: 'features', datatype: 'FP32', shape: [-1, 8] }]);
    assert.deepEqual(seen.metadata.versions, ['1', '2']);
    assert.equal(seen.model_ready, true);
    const rows = new Float32Array([0.5, -1.25, 3, 0.75, -0.1, 2.5, 1, -2, 1, 2, 3, 4, 5, 6, 7, 8]);
    const ref = Array.from((await directRun(SMALL_MLP, rows, [2, 8])).score!.data as Float32Array);
    assert.deepEqual(seen.binary.score.flat(), ref);
    assert.equal(seen.binary.id, 'r-1');
    assert.equal(seen.binary.version, '2');
    assert.deepEqual(seen.json.score.flat(), ref);
    assert.equal(seen.json.version, '1');
    assert.deepEqual(seen.odd.idx, [[2]]);
    assert.equal(seen.odd.idx_dtype, 'int64');
    assert.deepEqual(seen.odd.pos, [[true, false, true, true]]);
    assert.deepEqual(seen.odd.picked, [[10, 60, 30, 0]]);
    assert.equal(seen.errors.unknown.status, '404');
    assert.match(seen.errors.unknown.message, /unknown model "nope"/);
    assert.equal(seen.errors.datatype.status, '400');
    assert.match(seen.errors.datatype.message, /datatype must be FP32/);
  } finally {
    await s.close();
  }
});

