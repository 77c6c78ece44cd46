// CPU per record of the Kafka rows, for work on a loaded machine where records/s mean little:
// the tuned kafkajs passthrough and sluice's Kafka jobs over the same records, each measured as
// CPU seconds (user + system, all threads of its process) in its timed window, per record.
//   KAFKA_BROKERS=127.0.0.1:19092 node dist/bench/lib/kafka-cpu-probe.js [records] [reps] [variants]
// variants: a comma list of passthrough, atLeastOnce, exactlyOnce, stateful (default the first three).
// First, as in the bench's own process (where other benchmarks load sluice before kafkajs):
// the passthrough then runs with the kafkajs producer's linear partition grouping too.
import '../../connectors/kafka/index.js';
import { randomBytes } from 'node:crypto';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import { eventPool, runSluice } from '../benchmarks/kafka-sluice.js';
import { fillTopic, kafkaPassthroughRecordsPerSecond } from './kafka-ceiling.js';
import { median } from './result.js';

const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',').map((b) => b.trim()).filter(Boolean);
const RECORDS = Number(process.argv[2] ?? 50_000);
const REPS = Number(process.argv[3] ?? 3);
const VARIANTS = (process.argv[4] ?? 'passthrough,atLeastOnce,exactlyOnce').split(',');
const PARTITIONS = Number(process.env.BENCH_KAFKA_PARTITIONS ?? 2);
const BATCH = Number(process.env.BENCH_KAFKA_BATCH ?? 1024);
const CHECKPOINT_MS = Number(process.env.BENCH_KAFKA_CHECKPOINT_MS ?? 100);

const us = (cpuSeconds: number) => (cpuSeconds / RECORDS) * 1e6;
const show = (name: string, rows: { cpu: number; secs: number; main?: number }[]) => {
  const cpu = median(rows.map((r) => us(r.cpu)));
  const main = rows[0]?.main === undefined ? '' : `; main thread ${median(rows.map((r) => us(r.main!))).toFixed(2)} µs/record`;
  const busy = median(rows.map((r) => r.cpu / r.secs));
  process.stdout.write(`${name}: cpu ${cpu.toFixed(2)} µs/record (runs ${rows.map((r) => us(r.cpu).toFixed(2)).join(', ')})${main}; busy ${busy.toFixed(2)} cores; ${median(rows.map((r) => RECORDS / r.secs)).toFixed(0)} records/s wall (load-dependent)\n`);
};

const pool = eventPool();
if (VARIANTS.includes('passthrough')) {
  const valueBytes = pool.reduce((n, v) => n + v.length, 0) / pool.length;
  const options = { brokers: BROKERS, partitions: PARTITIONS, valueBytes, pool, timeoutMs: 120_000 };
  await kafkaPassthroughRecordsPerSecond({ ...options, records: Math.min(RECORDS, 50_000) });
  const rows = [];
  for (let i = 0; i < REPS; i++) {
    const r = await kafkaPassthroughRecordsPerSecond({ ...options, records: RECORDS });
    rows.push({ cpu: r.passthroughCpuSeconds, secs: r.passthroughSeconds });
  }
  show('passthrough', rows);
}
const variants = VARIANTS.filter((v) => v !== 'passthrough') as ('atLeastOnce' | 'exactlyOnce' | 'stateful')[];
if (variants.length) {
  const id = randomBytes(4).toString('hex');
  const input = `probe-in-${id}`;
  const kafka = new Kafka({ clientId: 'sluice-probe', brokers: BROKERS, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const created = [input];
  try {
    await admin.createTopics({ topics: [{ topic: input, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
    await producer.connect();
    await fillTopic(producer, input, RECORDS, pool);
    await producer.disconnect();
    for (const variant of variants) {
      const rows = [];
      for (let rep = 0; rep < REPS; rep++) {
        const name = `probe-${variant.toLowerCase()}-${id}-${rep}`;
        created.push(`${name}-out`, `${name}-dlq`);
        const r = await runSluice({ brokers: BROKERS, input, records: RECORDS, variant, name, batch: BATCH, maxInFlight: 4, checkpointIntervalMs: CHECKPOINT_MS });
        rows.push({ cpu: r.cpuSeconds, secs: r.seconds, main: r.mainThreadCpuSeconds });
      }
      show(variant, rows);
    }
  } finally {
    const existing = await admin.listTopics().catch(() => [] as string[]);
    await admin.deleteTopics({ topics: existing.filter((t) => created.includes(t) || (t.startsWith('probe-') && t.includes(id))) }).catch(() => {});
    await admin.disconnect();
  }
}
