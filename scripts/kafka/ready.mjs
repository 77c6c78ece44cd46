// Exits 0 when a Kafka broker at the given bootstrap address answers a kafkajs admin
// client (cluster metadata with at least one registered broker, then ListTopics), 1 otherwise.
// Used by start.sh to wait for the broker; plain JS so it runs before the build.
//   node scripts/kafka/ready.mjs 127.0.0.1:19092 [timeoutMs]
import { Kafka, logLevel } from 'kafkajs';

const brokers = (process.argv[2] ?? '127.0.0.1:19092').split(',');
const timeoutMs = Number(process.argv[3] ?? 5000);
const kafka = new Kafka({ clientId: 'sluice-kafka-ready', brokers, logLevel: logLevel.NOTHING, connectionTimeout: 1000, requestTimeout: timeoutMs, retry: { retries: 0 } });
const admin = kafka.admin();
const timer = setTimeout(() => {
  console.error(`ready: no answer from ${brokers.join(',')} within ${timeoutMs} ms`);
  process.exit(1);
}, timeoutMs);
try {
  await admin.connect();
  const cluster = await admin.describeCluster();
  if (cluster.brokers.length === 0) throw new Error('no broker registered yet');
  await admin.listTopics();
  console.log(`ready: cluster ${cluster.clusterId}, broker(s) ${cluster.brokers.map((b) => `${b.nodeId}@${b.host}:${b.port}`).join(', ')}`);
  clearTimeout(timer);
  await admin.disconnect();
  process.exit(0);
} catch (err) {
  console.error(`ready: ${brokers.join(',')} not ready: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
