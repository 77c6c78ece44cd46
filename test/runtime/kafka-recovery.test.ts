// ConsumerRecovery, the crash rule shared by the job's consumers, readRanges and the bridge:
// backoff, what is final, and a crash while a fresh consumer joins.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConsumerRecovery, type RecoveryOptions } from '../../connectors/kafka/recovery.js';
import { until } from './fake-kafka.js';

const lost = () => new Error('Failed to find group coordinator');
// The backoff timers are unref'd (they must not hold a process open): keep this one running while they wait.
const keepAlive = setInterval(() => {}, 1000);
after(() => clearInterval(keepAlive));

/** A recovery whose swaps are recorded with the time since the crash that caused them; `swap` decides each swap's fate. */
function harness(o: Partial<RecoveryOptions> & { swapResult?: (n: number) => Promise<void> }) {
  const crashes: [string, boolean][] = [];
  const swaps: number[] = [];
  let stopped = false;
  let t0 = Date.now();
  const r = new ConsumerRecovery({
    maxFailures: 3,
    initialMs: 20,
    maxMs: 60,
    stopped: () => stopped,
    onCrash: (e, recovering) => crashes.push([e.message, recovering]),
    swap: () => {
      swaps.push(Date.now() - t0);
      return o.swapResult ? o.swapResult(swaps.length) : Promise.resolve();
    },
    ...o,
  });
  return {
    r,
    crashes,
    swaps,
    crash(err = lost()) {
      t0 = Date.now();
      r.crashed(err);
    },
    stop() {
      stopped = true;
    },
  };
}

test('a crash swaps in a fresh consumer after the backoff, which doubles per failed swap up to its limit; a fourth crash in a row is final', async () => {
  const h = harness({ swapResult: () => Promise.reject(new Error('join failed')) });
  h.crash();
  await until(() => h.crashes.length === 4, 'three swaps fail, the fourth crash is final');
  await h.r.settled();
  assert.deepEqual(h.crashes, [[lost().message, true], ['join failed', true], ['join failed', true], ['join failed', false]]);
  assert.equal(h.swaps.length, 3);
  // Waits of 20, 40 and 60 ms (the limit) before each swap: the times grow with each one.
  assert.ok(h.swaps[0]! >= 15, `first swap after ${h.swaps[0]} ms`);
  assert.ok(h.swaps[2]! >= 15 + 35 + 55, `third swap after ${h.swaps[2]} ms in all`);
  assert.equal(h.r.busy, false);
});

test('a fetch between crashes starts the count over, so a consumer that keeps recovering is never given up on', async () => {
  const h = harness({});
  for (let i = 0; i < 6; i++) {
    h.crash();
    await h.r.settled();
    h.r.fetched();
  }
  assert.equal(h.swaps.length, 6);
  assert.ok(h.crashes.every(([, recovering]) => recovering));
});

test('refused credentials or permissions are final at once, and nothing is swapped after the owner stops', async () => {
  const denied = harness({});
  denied.crash(Object.assign(new Error('Not authorized to access group'), { type: 'GROUP_AUTHORIZATION_FAILED' }));
  const sasl = harness({});
  sasl.crash(Object.assign(new Error('SASL PLAIN authentication failed'), { name: 'KafkaJSSASLAuthenticationError' }));
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual([denied.swaps.length, sasl.swaps.length], [0, 0]);
  assert.deepEqual([denied.crashes[0]![1], sasl.crashes[0]![1]], [false, false]);

  const stopped = harness({});
  stopped.crash();
  stopped.stop(); // during the backoff
  await stopped.r.settled();
  stopped.crash();
  assert.equal(stopped.swaps.length, 0, 'no swap after stop');
  assert.equal(stopped.crashes.length, 1, 'a crash after stop is not even counted');
});

test('a crash of the consumer being swapped in (kafkajs still resolves its start) brings one more swap after it', async () => {
  let joining!: () => void;
  const h = harness({ swapResult: (n) => (n === 1 ? new Promise<void>((r) => (joining = r)) : Promise.resolve()) });
  h.crash();
  await until(() => h.swaps.length === 1, 'the first swap starts');
  assert.equal(h.r.busy, true);
  h.crash(); // the fresh consumer crashes while it joins
  joining();
  await until(() => h.swaps.length === 2, 'a second swap follows');
  await h.r.settled();
  assert.equal(h.swaps.length, 2);
  assert.deepEqual(h.crashes.map(([, r]) => r), [true, true]);
});

test('swapNow replaces at once (a stalled consumer), and not while a swap runs', async () => {
  const h = harness({});
  h.r.swapNow();
  await h.r.settled();
  assert.equal(h.swaps.length, 1);
  assert.ok(h.swaps[0]! < 15, `swapped after ${h.swaps[0]} ms`);
  h.crash();
  h.r.swapNow(); // a swap is waiting out its backoff
  await h.r.settled();
  assert.equal(h.swaps.length, 2);
});
