import { test } from 'node:test';
import assert from 'node:assert/strict';
import { windowOperator } from '../../src/operators/window.js';
import type { StreamRecord } from '../../src/core/record.js';
import { rec, runWindowWithRestart, summarize } from '../state/helpers.js';

type Config = Parameters<typeof windowOperator.create>[0];

/** 300 records over 5 keys, in order give or take 150 ms, so some are late. */
function input(): StreamRecord[] {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return Array.from({ length: 300 }, (_, i) => rec({ amount: Math.floor(rnd() * 100) }, `k${Math.floor(rnd() * 5)}`, i * 10 + Math.floor(rnd() * 300) - 150));
}

async function runAll(config: Config, batches: StreamRecord[][], restartAt?: number, cacheEntries?: number) {
  const { out, late, h, op } = await runWindowWithRestart(windowOperator, config, batches, restartAt, cacheEntries);
  h.clock.advance(10_000);
  out.push(...(await h.tick(op)));
  return { out: summarize(out), late: late + h.dead.length };
}

const chunk = <T>(xs: T[], n: number) => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));

for (const [name, window] of [
  ['tumbling', { tumbling: 100 }],
  ['sliding', { sliding: { size: 200, slide: 100 } }],
  ['session', { session: { gap: 40 } }],
] as const) {
  test(`${name}: a restart mid-stream gives the same results as an uninterrupted run`, async () => {
    const config = { window, aggregates: { n: { count: {} }, total: { sum: 'amount' }, top: { max: 'amount' } }, maxOutOfOrderness: 50, allowedLateness: 20, idleTimeout: '1s' } as Config;
    const records = input();
    const whole = await runAll(config, chunk(records, 300));
    const split = await runAll(config, chunk(records, 13), 11);
    assert.ok(whole.out.length > 10 && whole.late > 0, 'the input exercises closing and lateness');
    assert.deepEqual(split, whole);
    assert.deepEqual(await runAll(config, chunk(records, 7), 20, 2), whole, 'and with a cache too small to hold the keys');
  });
}
