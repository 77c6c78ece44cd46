import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';

test('ManualClock fires due timers in time order and only when advanced', () => {
  const clock = new ManualClock(1000);
  const fired: string[] = [];
  clock.setTimeout(() => fired.push('b'), 20);
  const a = clock.setTimeout(() => fired.push('a'), 10);
  clock.setTimeout(() => fired.push('c'), 30);
  clock.advance(5);
  assert.deepEqual(fired, []);
  clock.clearTimeout(a);
  clock.advance(20);
  assert.deepEqual(fired, ['b']);
  assert.equal(clock.now(), 1025);
  clock.advance(100);
  assert.deepEqual(fired, ['b', 'c']);
  assert.equal(clock.pendingTimers(), 0);
});
