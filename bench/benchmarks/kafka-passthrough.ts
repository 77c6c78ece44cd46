import type { Benchmark } from '../lib/benchmark.js';
import { ensureKafkaBroker, kafkaPassthroughRecordsPerSecond } from '../lib/kafka-ceiling.js';
import { median, result, round } from '../lib/result.js';

const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',').map((b) => b.trim()).filter(Boolean);
const RECORDS = Number(process.env.BENCH_KAFKA_RECORDS ?? 200_000);
const PARTITIONS = Number(process.env.BENCH_KAFKA_PARTITIONS ?? 2);
const VALUE_BYTES = 100;
/** The broker's JIT needs a run before its numbers settle (a fresh broker's first run is ~half speed). */
const WARMUP_RECORDS = 100_000;
const REPS = 3;

export const kafkaPassthrough: Benchmark = {
  name: 'kafka-passthrough',
  mode: 'stream',
  description: `the Kafka ceiling: raw kafkajs consume (eachBatch) → produce (acks -1) between two topics on a local Apache Kafka 3.9 broker (started by scripts/kafka/start.sh when none answers), ${PARTITIONS} partitions, ~${VALUE_BYTES}-byte JSON values, median of ${REPS} after a warm-up; and the produce rate that filled the input`,
  async run() {
    const broker = await ensureKafkaBroker(BROKERS);
    try {
      const options = { brokers: BROKERS, partitions: PARTITIONS, valueBytes: VALUE_BYTES, timeoutMs: 60_000 };
      await kafkaPassthroughRecordsPerSecond({ ...options, records: WARMUP_RECORDS });
      const runs = [];
      for (let i = 0; i < REPS; i++) runs.push(await kafkaPassthroughRecordsPerSecond({ ...options, records: RECORDS }));
      const params = { client: 'kafkajs 2.2.4', broker: 'Apache Kafka 3.9.1 KRaft, 1 node, loopback', records: RECORDS, partitions: PARTITIONS, value_bytes: VALUE_BYTES, acks: runs[0]!.acks, mean_batch: round(median(runs.map((r) => r.meanBatch))), reps: REPS, warmup_records: WARMUP_RECORDS, broker_started_by_bench: broker.started };
      const base = { benchmark: 'kafka-passthrough', name: 'kafka-passthrough', mode: 'stream' as const, unit: 'records/s', ceiling: null };
      return [
        result({ ...base, metric: 'records_per_s', value: round(median(runs.map((r) => r.passthroughRecordsPerSecond))), params: { ...params, phase: 'consume → produce passthrough' } }),
        result({ ...base, metric: 'produce_records_per_s', value: round(median(runs.map((r) => r.produceRecordsPerSecond))), params: { ...params, phase: 'produce (chunks of 1000, 4 in flight)' } }),
      ];
    } finally {
      await broker.stop();
    }
  },
};
