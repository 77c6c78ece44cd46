import { test } from 'node:test';
import assert from 'node:assert/strict';
import { records, withLog } from './helpers.js';

test('kv writes commit atomically with records and offsets, and scan by prefix', async () => {
  await withLog(async (log) => {
    await log.createTopic('t', 1);
    await log.commit({ appends: [{ topic: 't', partition: 0, records: records(2) }], offsets: [{ group: 'g', topic: 't', partition: 0, offset: 2 }], kv: [{ key: 'job/a/1', value: Buffer.from('one') }, { key: 'job/a/2', value: Buffer.from('two') }, { key: 'job/b', value: Buffer.from('x') }] });
    assert.equal((await log.getKv('job/a/1'))?.toString(), 'one');
    const scanned: string[] = [];
    for await (const [k, v] of log.scanKv('job/a/')) scanned.push(`${k}=${v.toString()}`);
    assert.deepEqual(scanned, ['job/a/1=one', 'job/a/2=two']);
    await assert.rejects(log.commit({ appends: [{ topic: 't', partition: 9, records: records(1) }], kv: [{ key: 'job/a/1', value: undefined }] }));
    assert.equal((await log.getKv('job/a/1'))?.toString(), 'one', 'a failed commit leaves kv untouched');
    await log.commit({ kv: [{ key: 'job/a/1', value: undefined }] });
    assert.equal(await log.getKv('job/a/1'), undefined);
  });
});
