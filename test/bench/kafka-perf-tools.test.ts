import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConsumerPerformance, parseProducerPerformance } from '../../bench/lib/kafka-perf-tools.js';

test('ProducerPerformance: the records/s of the final summary line, not of the progress lines', () => {
  const out = [
    '51921 records sent, 10384.2 records/sec (0.99 MB/sec), 1234.5 ms avg latency, 2000.0 ms max latency.',
    '200000 records sent, 48123.456789 records/sec (4.59 MB/sec), 346.27 ms avg latency, 1476.00 ms max latency, 352 ms 50th, 621 ms 95th, 648 ms 99th, 649 ms 99.9th.',
  ].join('\n');
  assert.equal(parseProducerPerformance(out), 48123.456789);
  assert.throws(() => parseProducerPerformance('log4j:WARN nothing else'), /no summary line/);
});

test('ConsumerPerformance: fetch.nMsg.sec and the count from the CSV under the header', () => {
  const out = [
    'WARN some log line',
    'start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec',
    '2026-11-29 09:44:39:833, 2026-11-29 09:44:41:790, 1.9073, 0.9746, 20000, 10219.7241, 1615, 342, 5.5770, 58479.5322',
  ].join('\n');
  assert.deepEqual(parseConsumerPerformance(out), { records: 20000, fetchRecordsPerSecond: 58479.5322 });
  assert.throws(() => parseConsumerPerformance('start.time, end.time'), /no results/);
});
