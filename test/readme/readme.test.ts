// The README's TypeScript snippet runs as written (from the repository root, after
// `npm run models`, which `npm test` runs first), through `import … from 'sluice'`;
// and its sample validation message names every operator there is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { operatorCatalog } from '../../src/operators/index.js';

const readme = readFileSync('README.md', 'utf8');

test('the README\'s TypeScript snippet imports from "sluice" and runs as written', { timeout: 60_000 }, () => {
  const m = /```ts\n([\s\S]*?)```/.exec(readme);
  assert.ok(m, 'README.md has a ```ts block');
  assert.match(m[1]!, /from 'sluice'/);
  // Inside the repository, so that 'sluice' resolves to this package by its own name.
  mkdirSync('.cache', { recursive: true });
  const dir = mkdtempSync(join('.cache', 'readme-'));
  try {
    // The snippet is plain JavaScript as well as TypeScript: run it as a module.
    writeFileSync(join(dir, 'snippet.mjs'), m[1]!);
    const r = spawnSync(process.execPath, [join(dir, 'snippet.mjs')], { encoding: 'utf8', env: { ...process.env, SLUICE_DATA_DIR: join(dir, 'data') }, timeout: 50_000 });
    assert.equal(r.status, 0, `snippet failed:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /status: 'completed'/);
    // runTopology's output: the record with the model's output (a number), and no dead letters.
    assert.match(r.stdout, /f7: 0,\s+score: -?\d/);
    assert.match(r.stdout, /\]\s*\[\]\s*$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the README\'s sample "unknown operator" message lists every operator', () => {
  const m = /known operators: ([a-zA-Z, ]+)/.exec(readme);
  assert.ok(m, 'README.md shows the unknown-operator message');
  assert.deepEqual(m[1]!.split(', '), operatorCatalog.kinds());
});
