import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { encodeRecord, kafkajsRecord, recordEncodingFixed } from '../../connectors/kafka/index.js';

const cases: Record<string, unknown>[] = [
  { offsetDelta: 0, timestampDelta: 0, key: null, value: null },
  { offsetDelta: 3, timestampDelta: 17, key: 'u42', value: '{"id":1,"score":0.25}' },
  { offsetDelta: 200, timestampDelta: -5, key: Buffer.from([0, 1, 2, 255]), value: Buffer.alloc(300, 7) },
  { offsetDelta: 70_000, timestampDelta: 1_764_419_000_000, key: 'ключ', value: 'värde ✓ 🚀'.repeat(40) },
  { offsetDelta: 1, timestampDelta: -(2 ** 40), key: '', value: '' },
  { offsetDelta: 9, key: 'k', value: 'v', headers: { a: 'x', b: Buffer.from('yz'), multi: ['1', Buffer.from('2'), 'three'], 'ü': 'ß' } },
  { offsetDelta: 9, key: 'k', value: 'v'.repeat(20_000), headers: {} },
];

test('the record encoder writes the bytes kafkajs\'s own Record v0 writes, and kafkajs uses it', () => {
  for (const c of cases) {
    const mine = encodeRecord(c);
    assert.ok(mine, `encoded ${JSON.stringify(c).slice(0, 80)}`);
    assert.deepEqual(mine.buffer, kafkajsRecord(c).buffer, `same bytes for ${JSON.stringify(c).slice(0, 80)}`);
  }
  assert.equal(recordEncodingFixed, true, 'installed before kafkajs loaded its produce request');
  const require = createRequire(import.meta.url);
  const installed = require('kafkajs/src/protocol/recordBatch/record/v0') as (a: unknown) => { buffer: Buffer };
  assert.notEqual(installed, kafkajsRecord);
  assert.deepEqual(installed(cases[1]!).buffer, kafkajsRecord(cases[1]!).buffer);
});

test('what the record encoder does not expect is left to kafkajs (same result, same errors)', () => {
  for (const c of [{ key: 5, value: 'v' }, { key: 'k', value: 'v', timestampDelta: 0.5 }, { key: 'k', value: 'v', headers: { h: null } }, { key: 'k', value: new Uint8Array([1]) }]) {
    assert.equal(encodeRecord(c as Record<string, unknown>), undefined, JSON.stringify(c));
  }
  const require = createRequire(import.meta.url);
  const installed = require('kafkajs/src/protocol/recordBatch/record/v0') as (a: unknown) => { buffer: Buffer };
  assert.throws(() => installed({ key: 'k', value: 'v', headers: { h: null } }), TypeError);
});
