// The broker scripts themselves (scripts/kafka/*.sh) on a spare port of their own: concurrent
// starts, restart on the same data, the SASL listener through a sluice connection profile, stop.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { KafkaTopicOps } from '../../../connectors/kafka/topic-ops.js';
import { SluiceError } from '../../../src/core/errors.js';
import { kafkaFromConfig } from '../../../src/runtime/connection.js';
import type { KafkaConnectionConfig } from '../../../src/topology/schema.js';
import { TEST_RETRY, kafkaAvailable, uniqueName } from './helpers.js';

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

/** A base port with itself, +1 (controller) and +2 (SASL) free: KAFKA_SCRIPTS_TEST_PORT, else a random one in 21000-29999. */
async function spareBasePort(): Promise<number> {
  if (process.env.KAFKA_SCRIPTS_TEST_PORT) return Number(process.env.KAFKA_SCRIPTS_TEST_PORT);
  for (let i = 0; i < 50; i++) {
    const base = 21_000 + Math.floor(Math.random() * 3000) * 3;
    if ((await portFree(base)) && (await portFree(base + 1)) && (await portFree(base + 2))) return base;
  }
  throw new Error('no three free consecutive ports found in 21000-29999');
}

function script(name: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn('bash', [resolve('scripts/kafka', name)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('exit', (code) => done({ code, stdout, stderr }));
  });
}

function client(brokers: string[]): Kafka {
  return new Kafka({ clientId: 'sluice-scripts-test', brokers, logLevel: logLevel.NOTHING, connectionTimeout: 3000, requestTimeout: 15_000, retry: TEST_RETRY });
}

/** A sluice connection profile for the SASL listener, resolved as `--connection FILE` would be. */
function saslProfile(port: number, sasl: NonNullable<KafkaConnectionConfig['sasl']>) {
  return kafkaFromConfig({ brokers: [`127.0.0.1:${port}`], sasl, retry: { retries: 2, initialRetryTimeMs: 100 } }, process.cwd(), 'sluice-scripts-test');
}

describe('scripts/kafka: start, restart, SASL, stop on a spare port', () => {
  test('concurrent starts give one broker; restart keeps records and committed offsets; SASL users log in, wrong passwords fail fast', { timeout: 240_000 }, async (t) => {
    // Runs where the other Kafka tests run (their broker proves java and the jars are installed).
    if (!(await kafkaAvailable(t))) return;
    const port = await spareBasePort();
    const dataDir = await mkdtemp(join(tmpdir(), 'sluice-kafka-scripts-'));
    const env = { KAFKA_PORT: String(port), KAFKA_DATA_DIR: dataDir };
    const bootstrap = `127.0.0.1:${port}`;
    const topic = uniqueName('restart-topic');
    const group = uniqueName('restart-group');
    try {
      // Two starts at once for the same port: both succeed, one broker runs.
      const [a, b] = await Promise.all([script('start.sh', env), script('start.sh', env)]);
      assert.equal(a.code, 0, a.stderr);
      assert.equal(b.code, 0, b.stderr);
      assert.equal(a.stdout.trim(), bootstrap);
      assert.equal(b.stdout.trim(), bootstrap);
      assert.ok(/already running \(pid \d+\)/.test(a.stderr + b.stderr), 'the second start finds the first broker');
      const pid1 = (await readFile(join(dataDir, 'kafka.pid'), 'utf8')).trim();
      assert.match(await readFile(`/proc/${pid1}/cmdline`, 'utf8'), /java\0.*kafka\.Kafka\0/s, 'the pid file names the broker JVM');

      const kafka = client([bootstrap]);
      const admin = kafka.admin();
      await admin.connect();
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
      await producer.send({ topic, acks: -1, messages: Array.from({ length: 50 }, (_, i) => ({ key: `k${i % 5}`, value: `v${i}` })) });
      await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: '3' }, { partition: 1, offset: '2' }] });
      const before = await admin.fetchTopicOffsets(topic);
      await producer.disconnect();
      await admin.disconnect();

      // SASL through sluice's connection profile: the test user with each mechanism.
      for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
        const ok = await KafkaTopicOps.connect(saslProfile(port + 2, { mechanism, username: 'sluice', password: 'sluice-secret' }));
        try {
          assert.ok((await ok.list()).some((x) => x.name === topic && x.records === 50), `${mechanism}: sees the topic`);
        } finally {
          await ok.close();
        }
      }
      for (const mechanism of ['plain', 'scram-sha-256'] as const) {
        const started = Date.now();
        await assert.rejects(KafkaTopicOps.connect(saslProfile(port + 2, { mechanism, username: 'sluice', password: 'wrong' })), (err: unknown) => {
          assert.ok(err instanceof SluiceError);
          assert.equal(err.code, 'KAFKA_UNAVAILABLE');
          assert.match(err.message, new RegExp(`refused user "sluice" with ${mechanism.toUpperCase()}.*Check connection\\.kafka\\.sasl`));
          return true;
        });
        assert.ok(Date.now() - started < 5000, `${mechanism}: wrong credentials fail within seconds, not after retries`);
      }

      // Restart on the same data, down for a second.
      const restarted = await script('restart.sh', { ...env, KAFKA_DOWN_SECONDS: '1' });
      assert.equal(restarted.code, 0, restarted.stderr);
      assert.equal(restarted.stdout.trim(), bootstrap);
      assert.match(restarted.stderr, /kept /);
      const pid2 = (await readFile(join(dataDir, 'kafka.pid'), 'utf8')).trim();
      assert.notEqual(pid2, pid1, 'a new broker process');
      assert.ok(!existsSync(`/proc/${pid1}`), 'the old broker is gone');

      const admin2 = client([bootstrap]).admin();
      await admin2.connect();
      try {
        assert.deepEqual(await admin2.fetchTopicOffsets(topic), before, 'every record survives');
        const committed = (await admin2.fetchOffsets({ groupId: group, topics: [topic] }))[0]!.partitions.sort((x, y) => x.partition - y.partition);
        assert.deepEqual(committed.map((p) => p.offset), ['3', '2'], 'committed offsets survive');
      } finally {
        await admin2.disconnect();
      }
      const after = await KafkaTopicOps.connect(saslProfile(port + 2, { mechanism: 'scram-sha-512', username: 'sluice', password: 'sluice-secret' }));
      try {
        const values: string[] = [];
        await after.consume(topic, { offset: 0, max: Infinity }, (recs) => values.push(...recs.map((r) => r.value)));
        assert.deepEqual(values.sort(), Array.from({ length: 50 }, (_, i) => `v${i}`).sort(), 'the records read back after the restart, over SASL');
      } finally {
        await after.close();
      }
    } finally {
      const stopped = await script('stop.sh', env);
      assert.equal(stopped.code, 0, stopped.stderr);
      assert.ok(!existsSync(join(dataDir, 'data')), 'stop.sh removes the data');
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
