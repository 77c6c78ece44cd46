import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// The flag is process-wide, so each case runs in a child process of its own.
const MODULE = fileURLToPath(new URL('../../src/online/gc-tuning.js', import.meta.url));
const child = (env: Record<string, string>): string =>
  execFileSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(MODULE)}); console.log(m.tuneGcForServing(), m.tuneGcForServing());`], { env: { ...process.env, ...env }, encoding: 'utf8' }).trim();

test('an online server turns off V8 allocation-site pretenuring once, unless SLUICE_V8_PRETENURING=on', () => {
  assert.equal(child({ SLUICE_V8_PRETENURING: '' }), 'true true');
  assert.equal(child({ SLUICE_V8_PRETENURING: 'on' }), 'false false');
});
