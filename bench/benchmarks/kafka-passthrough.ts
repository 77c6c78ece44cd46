// First: sluice's kafkajs fixes load before kafkajs, as in any process that imports sluice (the ceiling gets them too).
import { partitionGroupingFixed, readCommittedFixed, recordDecodingFixed, recordEncodingFixed } from '../../connectors/kafka/index.js';
import type { Benchmark } from '../lib/benchmark.js';
import { NAIVE_PASSTHROUGH, TUNED_PASSTHROUGH, ensureKafkaBroker, kafkaPassthroughRecordsPerSecond, type PassthroughTuning } from '../lib/kafka-ceiling.js';
import { brokerCeiling } from '../lib/kafka-perf-tools.js';
import { median, result, round } from '../lib/result.js';

const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',').map((b) => b.trim()).filter(Boolean);
const RECORDS = Number(process.env.BENCH_KAFKA_RECORDS ?? 200_000);
const PARTITIONS = Number(process.env.BENCH_KAFKA_PARTITIONS ?? 2);
const VALUE_BYTES = 100;
/** The broker's JIT needs a run before its numbers settle (a fresh broker's first run is ~half speed). */
const WARMUP_RECORDS = Number(process.env.BENCH_KAFKA_WARMUP_RECORDS ?? 100_000);
const REPS = Number(process.env.BENCH_KAFKA_REPS ?? 3);
/** The Java tools run several times faster than kafkajs: more records, so JVM start-up and JIT warm-up weigh little. */
const PERF_RECORDS = Number(process.env.BENCH_KAFKA_PERF_RECORDS ?? 1_000_000);

function tuningParams(t: PassthroughTuning): Record<string, unknown> {
  return { tuning: t.name, ...t.fetch, partitionsConsumedConcurrently: t.partitionsConsumedConcurrently || PARTITIONS, send_chunk: Number.isFinite(t.sendChunk) ? t.sendChunk : 'whole fetched batch', batches_in_flight: t.batchesInFlight, compression: t.compression === 0 ? 'none' : 'gzip', acks: t.acks };
}

export const kafkaPassthrough: Benchmark = {
  name: 'kafka-passthrough',
  mode: 'stream',
  description: `the Kafka ceilings on a local Apache Kafka 3.9 broker (started by scripts/kafka/start.sh when none answers), ${PARTITIONS} partitions, ~${VALUE_BYTES}-byte values: the broker's own (Apache Kafka's ProducerPerformance and ConsumerPerformance), and raw kafkajs consume (eachBatch) → produce (acks -1) between two topics, tuned and naive, median of ${REPS} after a warm-up`,
  timeLimitMs: 300_000,
  async run() {
    const broker = await ensureKafkaBroker(BROKERS);
    try {
      const options = { brokers: BROKERS, partitions: PARTITIONS, valueBytes: VALUE_BYTES, timeoutMs: 90_000 };
      await kafkaPassthroughRecordsPerSecond({ ...options, records: WARMUP_RECORDS, tuning: TUNED_PASSTHROUGH });
      const tuned = [];
      for (let i = 0; i < REPS; i++) tuned.push(await kafkaPassthroughRecordsPerSecond({ ...options, records: RECORDS, tuning: TUNED_PASSTHROUGH }));
      const naive = [];
      for (let i = 0; i < REPS; i++) naive.push(await kafkaPassthroughRecordsPerSecond({ ...options, records: RECORDS, tuning: NAIVE_PASSTHROUGH }));
      // The broker ceiling: the Java clients on the same broker, record size and partitions.
      const perf = await brokerCeiling({ brokers: BROKERS, records: PERF_RECORDS, partitions: PARTITIONS, recordBytes: VALUE_BYTES });
      const brokerLimit = Math.min(perf.produceRecordsPerSecond, perf.consumeRecordsPerSecond);
      const ceiling = { name: 'broker ceiling: min(ProducerPerformance, ConsumerPerformance)', value: round(brokerLimit) };

      const kafkajsFixes = Object.entries({ read_committed_filter: readCommittedFixed, partition_grouping: partitionGroupingFixed, record_encoder: recordEncodingFixed, record_decoder: recordDecodingFixed }).filter(([, on]) => on).map(([name]) => name).join(', ') || 'none';
      const params = { client: 'kafkajs 2.2.4', kafkajs_fixes_loaded: kafkajsFixes, broker: 'Apache Kafka 3.9.1 KRaft, 1 node, loopback', records: RECORDS, partitions: PARTITIONS, value_bytes: VALUE_BYTES, reps: REPS, warmup_records: WARMUP_RECORDS, broker_started_by_bench: broker.started };
      const base = { benchmark: 'kafka-passthrough', name: 'kafka-passthrough', mode: 'stream' as const, unit: 'records/s' };
      const perfParams = { ...params, records: PERF_RECORDS, tool: 'org.apache.kafka.tools (kafka-tools 3.9.1)', producer_props: Object.entries(perf.producerProps).filter(([k]) => k !== 'bootstrap.servers').map(([k, v]) => `${k}=${v}`).join(' '), key: 'none' };
      return [
        result({ ...base, metric: 'records_per_s', value: round(median(tuned.map((r) => r.passthroughRecordsPerSecond))), ceiling, params: { ...params, ...tuningParams(TUNED_PASSTHROUGH), mean_batch: round(median(tuned.map((r) => r.meanBatch))), cpu_us_per_record: round((median(tuned.map((r) => r.passthroughCpuSeconds)) / RECORDS) * 1e6, 2), phase: 'consume → produce passthrough, tuned (the Kafka ceiling sluice is compared with)' } }),
        result({ ...base, metric: 'naive_records_per_s', value: round(median(naive.map((r) => r.passthroughRecordsPerSecond))), ceiling, params: { ...params, ...tuningParams(NAIVE_PASSTHROUGH), mean_batch: round(median(naive.map((r) => r.meanBatch))), phase: 'consume → produce passthrough, naive (kafkajs defaults, one awaited send per batch)' } }),
        result({ ...base, metric: 'broker_produce_records_per_s', value: round(perf.produceRecordsPerSecond), ceiling: null, params: { ...perfParams, phase: 'ProducerPerformance' } }),
        result({ ...base, metric: 'broker_consume_records_per_s', value: round(perf.consumeRecordsPerSecond), ceiling: null, params: { ...perfParams, phase: 'ConsumerPerformance (fetch.nMsg.sec, group join not counted)' } }),
        result({ ...base, metric: 'produce_records_per_s', value: round(median(tuned.map((r) => r.produceRecordsPerSecond))), ceiling: null, params: { ...params, phase: 'kafkajs produce that fills the input (chunks of 1000, 4 in flight, acks -1)' } }),
      ];
    } finally {
      await broker.stop();
    }
  },
};
