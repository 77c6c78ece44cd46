import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withLog } from '../embedded/helpers.js';
import { ManualClock } from '../../src/core/clock.js';
import { KeyedStateBackend, kvStateStore } from '../../src/state/index.js';

test('state round-trips through the embedded log kv space (commit, reopen, scan)', async () => {
  await withLog(async (log) => {
    const clock = new ManualClock(0);
    const open = () => new KeyedStateBackend(kvStateStore(log), { namespace: 'state/job/in-0/agg/', clock });
    const b = open();
    const v = b.value<{ n: number }>('count');
    await b.load(['u1', 'ü/2']);
    v.set('u1', { n: 1 });
    v.set('ü/2', { n: 2 });
    await log.commit({ kv: b.drainWrites() });
    b.markCommitted();

    const b2 = open();
    const v2 = b2.value<{ n: number }>('count');
    await b2.load(['u1', 'ü/2']);
    assert.deepEqual([v2.get('u1'), v2.get('ü/2')], [{ n: 1 }, { n: 2 }]);
    const all: string[] = [];
    for await (const [k] of b2.entries('count')) all.push(k);
    assert.deepEqual(all.sort(), ['u1', 'ü/2']);
  });
});
