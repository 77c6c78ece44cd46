// Runs every compiled test file under dist/test with node's test runner.
// Node 20's runner takes files, not globs, so we list them here.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}
const filter = process.argv.slice(2);
let files = walk('dist/test').sort();
if (filter.length) files = files.filter((f) => filter.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('run-tests: no test files found under dist/test (did the build run?)');
  process.exit(1);
}
// `*.serial.*` files disturb shared resources (the broker-restart test stops the Kafka broker the
// other Kafka tests use): they run one at a time, after all the others.
const serial = files.filter((f) => f.includes('.serial.'));
const parallel = files.filter((f) => !f.includes('.serial.'));
let status = 0;
if (parallel.length) status = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...parallel], { stdio: 'inherit' }).status ?? 1;
if (serial.length) {
  const s = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...serial], { stdio: 'inherit' }).status ?? 1;
  status ||= s;
}
process.exit(status);
