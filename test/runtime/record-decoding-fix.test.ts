import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { decodeRecord, kafkajsRecord, kafkajsRecordDecoder, recordDecodingFixed } from '../../connectors/kafka/index.js';

const require = createRequire(import.meta.url);
const Decoder = require('kafkajs/src/protocol/decoder') as new (b: Buffer) => { buffer: Buffer; offset: number; readVarIntBytes(): Buffer };

/** One record's bytes as a record batch holds them (kafkajs's own encoder), opened as kafkajs's batch decoder opens it. */
function recordReader(args: Record<string, unknown>) {
  const bytes = kafkajsRecord(args).buffer;
  return () => new Decoder(new Decoder(bytes).readVarIntBytes());
}

const records: Record<string, unknown>[] = [
  { offsetDelta: 0, timestampDelta: 0, key: null, value: null },
  { offsetDelta: 3, timestampDelta: 17, key: 'u42', value: '{"id":1}' },
  { offsetDelta: 70_000, timestampDelta: -5, key: Buffer.from([0, 1, 255]), value: Buffer.alloc(300, 7) },
  { offsetDelta: 5, timestampDelta: 2 ** 40, key: 'k', value: 'v', headers: { a: 'x', b: Buffer.from('yz'), multi: ['1', '2', 'three'], 'ü': 'ß' } },
];
const contexts = [
  { firstOffset: '0', firstTimestamp: '1764419000000', magicByte: 2, isControlBatch: false, timestampType: 0, maxTimestamp: '1764419000100' },
  { firstOffset: '123456789012', firstTimestamp: '-1', magicByte: 2, isControlBatch: true, timestampType: 0, maxTimestamp: '-1' },
  { firstOffset: '7', firstTimestamp: '1764419000000', magicByte: 2, timestampType: 1, maxTimestamp: '1764419009999' },
  // beyond the safe integers: kafkajs's own decoder answers
  { firstOffset: '9223372036854775000', firstTimestamp: '1764419000000', magicByte: 2, timestampType: 0, maxTimestamp: '0' },
];

test('the record decoder returns what kafkajs\'s own decoder returns, and kafkajs uses it', () => {
  for (const ctx of contexts) {
    for (const rec of records) {
      const read = recordReader(rec);
      const mine = read();
      const theirs = read();
      const a = decodeRecord(mine, ctx);
      const b = kafkajsRecordDecoder(theirs, ctx);
      assert.deepEqual(a, b, `${JSON.stringify(rec).slice(0, 60)} in ${JSON.stringify(ctx)}`);
      assert.equal(mine.offset, theirs.offset, 'both consume the whole record');
    }
  }
  assert.equal(recordDecodingFixed, true, 'installed before kafkajs loaded its batch decoder');
  assert.equal(require('kafkajs/src/protocol/recordBatch/record/v0/decoder'), decodeRecord);
});

test('a truncated record goes to kafkajs\'s decoder (same result)', () => {
  const whole = recordReader(records[3]!)();
  for (const n of [0, 3, 6, 12]) {
    const cut = () => new Decoder(whole.buffer.subarray(0, n));
    let theirs: unknown;
    let theirError: unknown;
    try {
      theirs = kafkajsRecordDecoder(cut(), contexts[0]);
    } catch (err) {
      theirError = err;
    }
    if (theirError) assert.throws(() => decodeRecord(cut(), contexts[0]));
    else assert.deepEqual(decodeRecord(cut(), contexts[0]), theirs, `cut at ${n}`);
  }
});
