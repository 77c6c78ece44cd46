import { test } from 'node:test';
import assert from 'node:assert/strict';
import { showProgress } from '../../src/cli/progress.js';

function fakeJob(state: { read: number; done: number }) {
  return { recordsRead: () => state.read, progress: () => [{ done: state.done, total: 1000, unit: 'rows' }] };
}

test('on a terminal the bar is redrawn in place with percent and ETA', async () => {
  const writes: string[] = [];
  const state = { read: 250, done: 250 };
  const stop = showProgress(fakeJob(state), { isTTY: true, write: (s: string) => writes.push(s) > 0 }, 5);
  await new Promise((r) => setTimeout(r, 30));
  state.read = state.done = 1000;
  stop();
  assert.ok(writes.length >= 2);
  assert.match(writes[0]!, /^\r\[#{7,8} +\] 25\.0% of 1,000 rows, 250 records, [\d,]+\/s ETA \d+s/);
  assert.match(writes.at(-1)!, /100\.0% of 1,000 rows.*\n$/);
});

test('elsewhere it prints a plain line per interval and nothing at the end', async () => {
  const writes: string[] = [];
  const stop = showProgress(fakeJob({ read: 10, done: 10 }), { isTTY: false, write: (s: string) => writes.push(s) > 0 }, 5);
  await new Promise((r) => setTimeout(r, 30));
  stop();
  assert.ok(writes.length >= 1);
  assert.ok(writes.every((w) => /^progress: 1\.0% of 1,000 rows, 10 records/.test(w) && !w.includes('\r')));
});
