import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { EmbeddedLog } from '../../connectors/embedded/index.js';
import type { LogRecord } from '../../src/core/record.js';
import { records, tempDir, withLog } from './helpers.js';

test('append/read round trip keeps null keys, headers and unicode', () =>
  withLog(async (log) => {
    await log.createTopic('t', 1);
    const input: LogRecord[] = [
      { key: null, value: '{"a":1}', timestamp: 1.5 },
      { key: 'ключ', value: 'héllo 🌊 世界', timestamp: 2, headers: { 'trace-id': 'x', ü: '✓' } },
      { key: '', value: '', timestamp: -3 },
    ];
    assert.equal(await log.append('t', 0, input), 0);
    const out = await log.read('t', 0, 0, 10);
    assert.deepEqual(out, input.map((r, offset) => ({ ...r, offset })));
    assert.equal(log.endOffset('t', 0), 3);
    assert.equal(log.startOffset('t', 0), 0);
  }));

test('reads start mid-batch, cross batch boundaries and stop at maxRecords', () =>
  withLog(async (log) => {
    await log.createTopic('t', 1);
    assert.equal(await log.append('t', 0, records(5, 0)), 0);
    assert.equal(await log.append('t', 0, records(5, 5)), 5);
    assert.equal(await log.append('t', 0, records(5, 10)), 10);
    const values = (rs: { value: string | Buffer }[]): string[] => rs.map((r) => String(r.value));
    assert.deepEqual(values(await log.read('t', 0, 3, 4)), ['v3', 'v4', 'v5', 'v6']);
    assert.deepEqual(values(await log.read('t', 0, 7, 100)), ['v7', 'v8', 'v9', 'v10', 'v11', 'v12', 'v13', 'v14']);
    // Sequential small reads (the cached mid-batch cursor) and a read backwards.
    const seen: string[] = [];
    for (let at = 0; at < 15; at += 2) seen.push(...values(await log.read('t', 0, at, 2)));
    assert.deepEqual(seen, records(15).map((r) => r.value));
    assert.deepEqual(values(await log.read('t', 0, 1, 2)), ['v1', 'v2']);
    assert.deepEqual(await log.read('t', 0, 15, 10), []);
    assert.deepEqual(await log.read('t', 0, 4, 0), []);
    await assert.rejects(log.read('t', 0, 16, 1), { code: 'INVALID_INPUT', message: /offset 16 is out of range; valid offsets are 0 to 15/ });
  }));

test('offsets persist across close/reopen and the counters resume', async () => {
  const dir = await tempDir();
  try {
    let log = await EmbeddedLog.open(dir);
    await log.createTopic('a', 2);
    await log.append('a', 0, records(3));
    await log.append('a', 1, records(1));
    await log.commit({ offsets: [{ group: 'g', topic: 'a', partition: 0, offset: 2 }] });
    await log.close();

    log = await EmbeddedLog.open(dir);
    assert.deepEqual(log.listTopics(), [{ name: 'a', partitions: 2 }]);
    assert.equal(log.endOffset('a', 0), 3);
    assert.equal(log.endOffset('a', 1), 1);
    assert.equal(await log.append('a', 0, records(2, 3)), 3);
    assert.deepEqual((await log.read('a', 0, 0, 10)).map((r) => r.offset), [0, 1, 2, 3, 4]);
    assert.equal(await log.committedOffset('g', 'a', 0), 2);
    await log.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('commit writes appends and offsets atomically; a bad commit writes nothing', () =>
  withLog(async (log) => {
    await log.createTopic('in', 1);
    await log.createTopic('out', 2);
    const { baseOffsets } = await log.commit({
      appends: [{ topic: 'out', partition: 1, records: records(2) }, { topic: 'out', partition: 1, records: records(1, 2) }],
      offsets: [{ group: 'job', topic: 'in', partition: 0, offset: 40 }],
    });
    assert.deepEqual(baseOffsets, [0, 2]);
    assert.equal(log.endOffset('out', 1), 3);
    assert.equal(await log.committedOffset('job', 'in', 0), 40);

    // Partition 5 does not exist: the valid append before it and the offset must not land.
    await assert.rejects(
      log.commit({
        appends: [{ topic: 'out', partition: 0, records: records(1) }, { topic: 'out', partition: 5, records: records(1) }],
        offsets: [{ group: 'job', topic: 'in', partition: 0, offset: 99 }],
      }),
      { code: 'INVALID_INPUT', message: /topic "out" has no partition 5; valid partitions are 0 to 1/ },
    );
    // A bad record (non-string value) also fails before anything is taken.
    const bad = [{ key: null, value: 42, timestamp: 1 }] as unknown as LogRecord[];
    await assert.rejects(log.commit({ appends: [{ topic: 'out', partition: 0, records: records(1) }, { topic: 'out', partition: 1, records: bad }] }), {
      code: 'INVALID_INPUT',
      message: /topic "out" partition 1: record 0 has a value of type number/,
    });
    assert.equal(log.endOffset('out', 0), 0);
    assert.equal(log.endOffset('out', 1), 3);
    assert.equal(await log.committedOffset('job', 'in', 0), 40);
    assert.equal(await log.append('out', 0, records(1)), 0, 'no offset was taken by the failed commits');
  }));

test('concurrent commits get dense offsets in order, and produce partitions by key', () =>
  withLog(async (log) => {
    await log.createTopic('t', 1);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append('t', 0, records(i % 3 + 1, i * 10))));
    let expected = 0;
    results.forEach((base, i) => {
      assert.equal(base, expected);
      expected += i % 3 + 1;
    });
    const all = await log.read('t', 0, 0, 1000);
    assert.equal(all.length, expected);
    assert.deepEqual(all.map((r) => r.offset), [...Array(expected).keys()]);
    assert.equal(all[0]?.value, 'v0');
    assert.equal(all.at(-1)?.value, `v${49 * 10 + 49 % 3}`);

    await log.createTopic('keyed', 4);
    await log.produce('keyed', records(40));
    let total = 0;
    for (let p = 0; p < 4; p++) {
      for (const r of await log.read('keyed', p, 0, 100)) {
        assert.equal(log.partitionFor('keyed', r.key), p);
        total++;
      }
    }
    assert.equal(total, 40);
  }));

test('committedOffset is undefined until committed, per group and partition', () =>
  withLog(async (log) => {
    await log.createTopic('t', 2);
    assert.equal(await log.committedOffset('g', 't', 0), undefined);
    await log.commit({ offsets: [{ group: 'g', topic: 't', partition: 1, offset: 7 }] });
    await log.commit({ offsets: [{ group: 'g', topic: 't', partition: 1, offset: 9 }, { group: 'h', topic: 't', partition: 1, offset: 1 }] });
    assert.equal(await log.committedOffset('g', 't', 1), 9);
    assert.equal(await log.committedOffset('h', 't', 1), 1);
    assert.equal(await log.committedOffset('g', 't', 0), undefined);
    await assert.rejects(log.commit({ offsets: [{ group: '', topic: 't', partition: 0, offset: 1 }] }), { code: 'INVALID_INPUT' });
    await assert.rejects(log.commit({ offsets: [{ group: 'g', topic: 't', partition: 0, offset: -1 }] }), { code: 'INVALID_INPUT' });
  }));

test('offsetForTimestamp finds the first record at or after ts, scanning forward', () =>
  withLog(async (log) => {
    await log.createTopic('t', 1);
    assert.equal(await log.offsetForTimestamp('t', 0, 0), 0);
    const at = (ts: number[]): LogRecord[] => ts.map((timestamp) => ({ key: null, value: 'x', timestamp }));
    await log.append('t', 0, at([10, 20, 30]));
    await log.append('t', 0, at([50, 40, 60])); // not monotonic: 40 comes after 50
    assert.equal(await log.offsetForTimestamp('t', 0, 5), 0);
    assert.equal(await log.offsetForTimestamp('t', 0, 20), 1);
    assert.equal(await log.offsetForTimestamp('t', 0, 35), 3);
    assert.equal(await log.offsetForTimestamp('t', 0, 55), 5);
    assert.equal(await log.offsetForTimestamp('t', 0, 61), 6, 'none: the end offset');
  }));

test('waitForAppend wakes on append, times out, and honours abort', () =>
  withLog(async (log) => {
    await log.createTopic('t', 1);
    assert.equal(await log.waitForAppend('t', 0, 0, 30), false);
    // A long timeout: true means the append woke it (a timeout gives false); how fast is bench/'s business.
    const woken = log.waitForAppend('t', 0, 0, 60_000);
    await log.append('t', 0, records(1));
    assert.equal(await woken, true);
    assert.equal(await log.waitForAppend('t', 0, 0, 10), true, 'already there');

    const ac = new AbortController();
    const aborted = log.waitForAppend('t', 0, 1, 5000, ac.signal);
    ac.abort();
    assert.equal(await aborted, false);
  }));

test('topic validation, lookup errors and delete', () =>
  withLog(async (log) => {
    await log.createTopic('orders.v1_x-y', 3);
    assert.deepEqual(await log.createTopic('orders.v1_x-y', 3), { name: 'orders.v1_x-y', partitions: 3 });
    await assert.rejects(log.createTopic('orders.v1_x-y', 4), { code: 'INVALID_INPUT', message: /already exists with 3 partitions/ });
    for (const name of ['', 'a b', 'x/y', '..', 'ü', 'a'.repeat(250)]) {
      await assert.rejects(log.createTopic(name, 1), { code: 'INVALID_INPUT' }, name);
    }
    await assert.rejects(log.createTopic('p', 0), { code: 'INVALID_INPUT', message: /partitions must be an integer/ });
    assert.throws(() => log.requireTopic('nope'), { code: 'NOT_FOUND', message: /topic "nope" does not exist .*existing topics: orders.v1_x-y/ });
    await assert.rejects(log.append('nope', 0, records(1)), { code: 'NOT_FOUND' });
    await assert.rejects(log.read('orders.v1_x-y', 3, 0, 1), { code: 'INVALID_INPUT', message: /no partition 3; valid partitions are 0 to 2/ });
    assert.equal(log.topic('nope'), undefined);

    await log.append('orders.v1_x-y', 1, records(2));
    await log.commit({ offsets: [{ group: 'g', topic: 'orders.v1_x-y', partition: 1, offset: 2 }] });
    await log.deleteTopic('orders.v1_x-y');
    assert.deepEqual(log.listTopics(), []);
    await log.createTopic('orders.v1_x-y', 2);
    assert.equal(log.endOffset('orders.v1_x-y', 1), 0);
    assert.deepEqual(await log.read('orders.v1_x-y', 1, 0, 10), []);
    assert.equal(await log.committedOffset('g', 'orders.v1_x-y', 1), undefined);
  }));

test('close waits for queued writes, wakes waiters with false, then refuses work', async () => {
  const dir = await tempDir();
  try {
    const log = await EmbeddedLog.open(dir);
    await log.createTopic('t', 1);
    const waiting = log.waitForAppend('t', 0, 5, 10_000);
    const pending = log.append('t', 0, records(3)); // not awaited before close
    await log.close();
    assert.equal(await pending, 0);
    assert.equal(await waiting, false);
    await assert.rejects(log.read('t', 0, 0, 1), { code: 'STORAGE_ERROR', message: /is closed/ });
    await assert.rejects(log.append('t', 0, records(1)), { code: 'STORAGE_ERROR' });

    const again = await EmbeddedLog.open(dir);
    assert.deepEqual((await again.read('t', 0, 0, 10)).map((r) => r.value), ['v0', 'v1', 'v2']);
    await again.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
