import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filterAbortedMessages, readCommittedFixed } from '../../connectors/kafka/index.js';

const data = (offset: number, producerId: number) => ({ offset: String(offset), key: Buffer.from('k'), batchContext: { producerId: String(producerId), inTransaction: true } });
const abort = (offset: number, producerId: number) => ({ offset: String(offset), key: Buffer.from([0, 0, 0, 0]), batchContext: { producerId: String(producerId), inTransaction: true } });

test('aborted transactions listed in abort order (not first-offset order) are all hidden', () => {
  // Producer 2's transaction starts first (10) but is aborted after producer 1's (which starts at 12).
  const messages = [data(10, 2), data(11, 2), data(12, 1), data(13, 3), abort(14, 1), data(15, 2), abort(16, 2), data(17, 1)];
  const kept = filterAbortedMessages({ messages, abortedTransactions: [{ producerId: '1', firstOffset: '12' }, { producerId: '2', firstOffset: '10' }] });
  assert.deepEqual(kept.map((m) => m.offset), ['13', '14', '16', '17'], 'only producer 3 data, the markers, and what came after the aborts');
  assert.equal(readCommittedFixed, true, 'the connector installs the filter in kafkajs before kafkajs loads');
});
