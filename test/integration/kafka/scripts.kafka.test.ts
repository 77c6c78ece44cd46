// The broker scripts themselves (scripts/kafka/*.sh) on a spare port of their own: concurrent
// starts, restart on the same data, the SASL listener through a sluice connection profile, stop.
// First: sluice's Kafka connector fixes kafkajs's read_committed filter as kafkajs loads.
import '../../../connectors/kafka/index.js';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { KafkaTopicOps } from '../../../connectors/kafka/topic-ops.js';
import { SluiceError } from '../../../src/core/errors.js';
import { kafkaFromConfig } from '../../../src/runtime/connection.js';
import type { KafkaConnectionConfig } from '../../../src/topology/schema.js';
import { TEST_RETRY, kafkaAvailable, uniqueName } from './helpers.js';
import { SASL_USER, kafkaScript as script, privateBroker } from './private-broker.js';

function sluice(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [resolve('bin/sluice.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SLUICE_KAFKA_BROKERS: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
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
    const broker = await privateBroker();
    const { port, dataDir, env } = broker;
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
        const ok = await KafkaTopicOps.connect(saslProfile(port + 2, { mechanism, ...SASL_USER }));
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

      // The same through the CLI: `sluice topics --connection FILE`.
      const profile = (password: string) => `kafka:\n  brokers: [127.0.0.1:${port + 2}]\n  sasl: { mechanism: scram-sha-256, username: sluice, password: ${password} }\n  retry: { retries: 2 }\n`;
      await writeFile(join(dataDir, 'good.yaml'), profile(SASL_USER.password));
      await writeFile(join(dataDir, 'bad.yaml'), profile('wrong'));
      const listed = await sluice(['topics', 'list', '--connection', join(dataDir, 'good.yaml')]);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, new RegExp(`^${topic}\tpartitions=2\trecords=50$`, 'm'));
      const cliStarted = Date.now();
      const refused = await sluice(['topics', 'list', '--connection', join(dataDir, 'bad.yaml')]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /KAFKA_UNAVAILABLE: Kafka at 127\.0\.0\.1:\d+ refused user "sluice" with SCRAM-SHA-256/);
      assert.ok(Date.now() - cliStarted < 10_000, 'the CLI gives up on wrong credentials within seconds');

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
      const after = await KafkaTopicOps.connect(saslProfile(port + 2, { mechanism: 'scram-sha-512', ...SASL_USER }));
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
      await broker.dispose();
    }
  });
});
