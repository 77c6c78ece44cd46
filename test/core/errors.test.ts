import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CODES, SluiceError, ensureError } from '../../src/core/errors.js';

test('the README error table lists every code with its status, meaning and fix', () => {
  const readme = readFileSync('README.md', 'utf8');
  for (const [code, info] of Object.entries(ERROR_CODES)) {
    assert.ok(readme.includes(`| ${code} | ${info.status} | ${info.meaning} | ${info.fix} |`), `README row for ${code} is missing or stale`);
  }
});

test('retriable comes from the code table', () => {
  assert.equal(new SluiceError('OVERLOADED', 'x').retriable, true);
  assert.equal(new SluiceError('INVALID_INPUT', 'x').retriable, false);
  assert.equal(new SluiceError('DEADLINE_EXCEEDED', 'x').status, 504);
});

test('ensureError wraps anything thrown and keeps the cause', () => {
  const cause = new Error('disk full');
  const e = ensureError(cause, 'STORAGE_ERROR');
  assert.equal(e.code, 'STORAGE_ERROR');
  assert.equal(e.message, 'disk full');
  assert.equal(e.cause, cause);
  assert.equal(ensureError('plain').code, 'INTERNAL');
});
