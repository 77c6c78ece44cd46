import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EmbeddedLog } from '../../connectors/embedded/index.js';
import { withLog } from './helpers.js';

test('bytes and text share a batch: each reads back as written (Buffer or string), also from mid-batch and after reopen', async () => {
  await withLog(async (log, dir) => {
    await log.createTopic('mixed', 1);
    const bin = (n: number) => Buffer.from([0, 0, 0, 0, n, 0xff, 0x80, n]);
    await log.append('mixed', 0, [
      { key: 'a', value: 'text-0', timestamp: 1 },
      { key: bin(1), value: bin(1), timestamp: 2, headers: { h: 'x' } },
      { key: null, value: Buffer.alloc(0), timestamp: 3 },
      { key: Buffer.alloc(0), value: 'text-3', timestamp: 4 },
    ]);
    const check = (recs: Awaited<ReturnType<EmbeddedLog['read']>>) => {
      assert.equal(recs[0]!.value, 'text-0');
      assert.ok(Buffer.isBuffer(recs[1]!.value) && (recs[1]!.value as Buffer).equals(bin(1)));
      assert.ok(Buffer.isBuffer(recs[1]!.key) && (recs[1]!.key as Buffer).equals(bin(1)));
      assert.deepEqual(recs[1]!.headers, { h: 'x' });
      assert.ok(Buffer.isBuffer(recs[2]!.value) && (recs[2]!.value as Buffer).length === 0);
      assert.equal(recs[2]!.key, null);
      assert.ok(Buffer.isBuffer(recs[3]!.key) && (recs[3]!.key as Buffer).length === 0);
      assert.equal(recs[3]!.value, 'text-3');
    };
    check(await log.read('mixed', 0, 0, 10));
    const tail = await log.read('mixed', 0, 2, 10);
    assert.deepEqual(tail.map((r) => r.offset), [2, 3], 'skipping binary records lands on the right offsets');
    assert.equal(await log.offsetForTimestamp('mixed', 0, 4), 3);
    await log.close();
    const again = await EmbeddedLog.open(dir);
    try {
      check(await again.read('mixed', 0, 0, 10));
    } finally {
      await again.close();
    }
  }).catch((err: Error) => {
    if (!/closed|not open/i.test(err.message)) throw err;
  });
});

test('a binary key picks its partition by murmur2 of its bytes, as Kafka does', async () => {
  await withLog(async (log) => {
    await log.createTopic('keyed', 4);
    const key = Buffer.from('user-42', 'utf8');
    assert.equal(log.partitionFor('keyed', key), log.partitionFor('keyed', 'user-42'), 'the same bytes as the text key');
  });
});
