// The broker's own ceiling: Apache Kafka's perf tools (org.apache.kafka.tools.ProducerPerformance
// and ConsumerPerformance, from kafka-tools, the same version as the broker) against the same
// broker, record size and partitions as the kafkajs passthrough. scripts/kafka/install.sh --tools
// fetches them from Maven Central (cached).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaScript, runKafkaScript } from './kafka-ceiling.js';

export interface BrokerCeilingOptions {
  brokers: string[];
  records: number;
  partitions: number;
  /** Bytes per record value (ProducerPerformance's --record-size; it sends no key). */
  recordBytes: number;
  /** Producer settings passed to ProducerPerformance. */
  producerProps?: Record<string, string>;
}

export interface BrokerCeilingResult {
  /** ProducerPerformance's records/s. */
  produceRecordsPerSecond: number;
  /** ConsumerPerformance's fetch.nMsg.sec: records/s from the first fetch on (group join not counted). */
  consumeRecordsPerSecond: number;
  producerProps: Record<string, string>;
}

/**
 * Throughput settings for the Java producer; acks=all as the passthrough and sluice's sinks use.
 * (linger.ms: the Java client's batching wait, which kafkajs lacks; 3.9's default is 0.)
 */
export const PERF_PRODUCER_PROPS: Record<string, string> = { acks: 'all', 'linger.ms': '5', 'batch.size': '262144', 'compression.type': 'none' };

/** Installs the tools if needed and returns the Java class path (tools and broker jars). */
export async function perfToolsClassPath(): Promise<string> {
  await runKafkaScript('install.sh', undefined, ['--tools']);
  const root = dirname(dirname(dirname(kafkaScript('install.sh'))));
  const version = process.env.KAFKA_VERSION ?? '3.9.1';
  const home = join(process.env.KAFKA_CACHE_DIR ?? join(root, '.cache', 'kafka'), version);
  return `${join(home, 'tools')}/*:${join(home, 'libs')}/*`;
}

function java(classPath: string, log4j: string, mainClass: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('java', ['-Xmx512m', `-Dlog4j.configuration=file:${log4j}`, '-cp', classPath, mainClass, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${mainClass} exited with ${code}: ${(err || out).trim().split('\n').slice(-5).join(' | ')}`))));
  });
}

/** "N records sent, X records/sec (…)" → X. */
export function parseProducerPerformance(out: string): number {
  const m = /(\d+) records sent, ([\d.]+) records\/sec/.exec(out.split('\n').filter((l) => l.includes('records sent')).pop() ?? '');
  if (!m) throw new Error(`ProducerPerformance printed no summary line: ${out.slice(-300)}`);
  return Number(m[2]);
}

/** The CSV line under ConsumerPerformance's header → fetch.nMsg.sec (and the count consumed). */
export function parseConsumerPerformance(out: string): { records: number; fetchRecordsPerSecond: number } {
  const lines = out.split('\n').map((l) => l.trim()).filter(Boolean);
  const h = lines.findIndex((l) => l.startsWith('start.time'));
  if (h < 0 || !lines[h + 1]) throw new Error(`ConsumerPerformance printed no results: ${out.slice(-300)}`);
  const names = lines[h]!.split(',').map((x) => x.trim());
  const values = lines[h + 1]!.split(',').map((x) => x.trim());
  const get = (n: string) => Number(values[names.indexOf(n)]);
  return { records: get('data.consumed.in.nMsg'), fetchRecordsPerSecond: get('fetch.nMsg.sec') };
}

/** Produces `records` into a fresh topic with ProducerPerformance, then reads them back with ConsumerPerformance. */
export async function brokerCeiling(o: BrokerCeilingOptions): Promise<BrokerCeilingResult> {
  const classPath = await perfToolsClassPath();
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-perf-'));
  const log4j = join(dir, 'log4j.properties');
  await writeFile(log4j, 'log4j.rootLogger=WARN, stderr\nlog4j.appender.stderr=org.apache.log4j.ConsoleAppender\nlog4j.appender.stderr.Target=System.err\nlog4j.appender.stderr.layout=org.apache.log4j.PatternLayout\nlog4j.appender.stderr.layout.ConversionPattern=%p %m%n\n');
  const topic = `bench-perf-${randomBytes(4).toString('hex')}`;
  const admin = new Kafka({ clientId: 'sluice-bench-perf', brokers: o.brokers, logLevel: logLevel.NOTHING }).admin();
  const producerProps = { ...PERF_PRODUCER_PROPS, ...o.producerProps, 'bootstrap.servers': o.brokers.join(',') };
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: o.partitions, replicationFactor: 1 }], waitForLeaders: true });
    const produced = await java(classPath, log4j, 'org.apache.kafka.tools.ProducerPerformance', [
      '--topic', topic, '--num-records', String(o.records), '--record-size', String(o.recordBytes), '--throughput', '-1',
      '--producer-props', ...Object.entries(producerProps).map(([k, v]) => `${k}=${v}`),
    ]);
    const consumed = parseConsumerPerformance(
      await java(classPath, log4j, 'org.apache.kafka.tools.ConsumerPerformance', ['--bootstrap-server', o.brokers.join(','), '--topic', topic, '--messages', String(o.records), '--timeout', '60000', '--group', `${topic}-group`]),
    );
    if (consumed.records < o.records) throw new Error(`ConsumerPerformance read ${consumed.records} of ${o.records} records`);
    return { produceRecordsPerSecond: parseProducerPerformance(produced), consumeRecordsPerSecond: consumed.fetchRecordsPerSecond, producerProps };
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
    await rm(dir, { recursive: true, force: true });
  }
}
