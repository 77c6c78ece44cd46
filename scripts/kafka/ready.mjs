// Exits 0 when a Kafka broker at the given bootstrap address answers a kafkajs admin
// client (cluster metadata with at least one registered broker, then ListTopics), 1 otherwise.
// Used by start.sh to wait for the broker; plain JS so it runs before the build.
//   node scripts/kafka/ready.mjs 127.0.0.1:19092 [timeoutMs] [mechanism:user:password]
// The third argument logs in with SASL (plain, scram-sha-256 or scram-sha-512) first.
import { Kafka, logLevel } from 'kafkajs';

const brokers = (process.argv[2] ?? '127.0.0.1:19092').split(',');
const timeoutMs = Number(process.argv[3] ?? 5000);
const saslArg = process.argv[4];
let sasl;
if (saslArg) {
  const [mechanism, username, ...password] = saslArg.split(':');
  sasl = { mechanism, username, password: password.join(':') };
}
const kafka = new Kafka({ clientId: 'sluice-kafka-ready', brokers, logLevel: logLevel.NOTHING, connectionTimeout: 1000, requestTimeout: timeoutMs, retry: { retries: 0 }, ...(sasl ? { sasl } : {}) });
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
  console.log(`ready: cluster ${cluster.clusterId}, broker(s) ${cluster.brokers.map((b) => `${b.nodeId}@${b.host}:${b.port}`).join(', ')}${sasl ? ` (SASL ${sasl.mechanism} as ${sasl.username})` : ''}`);
  clearTimeout(timer);
  await admin.disconnect();
  process.exit(0);
} catch (err) {
  console.error(`ready: ${brokers.join(',')} not ready: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
