import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kafkaClientConfig } from '../../connectors/kafka/index.js';
import { describeConnection, loadConnectionFile, resolveConnection } from '../../src/runtime/connection.js';
import type { TopologyDefinition } from '../../src/topology/schema.js';

const base: TopologyDefinition = {
  name: 'conn-test',
  sources: { in: { type: 'topic', topic: 'in' } },
  pipeline: [{ map: { set: { y: 'x' } } }],
  sinks: { out: { type: 'topic', topic: 'out' } },
  onError: 'fail',
};

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-conn-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('no flag, no block, no env: the embedded log', () => {
  const c = resolveConnection(base, '/x', { env: {} });
  assert.deepEqual(c, { kind: 'embedded', from: 'default' });
  assert.equal(describeConnection(c), 'the embedded log');
});

test('SLUICE_KAFKA_* selects Kafka with defaults filled in', () => {
  const c = resolveConnection(base, '/x', { env: { SLUICE_KAFKA_BROKERS: 'a:1, b:2', SLUICE_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256', SLUICE_KAFKA_USERNAME: 'u', SLUICE_KAFKA_PASSWORD: 'p', SLUICE_KAFKA_SSL: '1' } });
  assert.equal(c.kind, 'kafka');
  if (c.kind !== 'kafka') return;
  assert.equal(c.from, 'env');
  assert.deepEqual(c.kafka.brokers, ['a:1', 'b:2']);
  assert.equal(c.kafka.clientId, 'sluice-conn-test');
  assert.deepEqual(c.kafka.sasl, { mechanism: 'scram-sha-256', username: 'u', password: 'p' });
  assert.equal(c.kafka.ssl, true);
  assert.deepEqual(c.kafka.topics, { create: true, partitions: 1, replicationFactor: 1 });
  assert.deepEqual(c.kafka.retry, { retries: 5, initialRetryTimeMs: 300, maxRetryTimeMs: 30_000 });
  const cfg = kafkaClientConfig(c.kafka);
  assert.equal(cfg.connectionTimeout, 3000);
  assert.deepEqual(cfg.retry, { retries: 5, initialRetryTime: 300, maxRetryTime: 30_000 });
  assert.deepEqual(cfg.sasl, { mechanism: 'scram-sha-256', username: 'u', password: 'p' });
});

test('a bad SASL mechanism in the environment is a clear error', () => {
  assert.throws(() => resolveConnection(base, '/x', { env: { SLUICE_KAFKA_BROKERS: 'a:1', SLUICE_KAFKA_SASL_MECHANISM: 'gssapi' } }), /SLUICE_KAFKA_SASL_MECHANISM must be one of plain, scram-sha-256, scram-sha-512; got "gssapi"/);
});

test('the topology block wins over the environment; the flag file wins over both', () =>
  withDir(async (dir) => {
    const def: TopologyDefinition = { ...base, connection: { kafka: { brokers: ['topo:9092'], clientId: 'mine', topics: { partitions: 6 } } } };
    const fromTopology = resolveConnection(def, dir, { env: { SLUICE_KAFKA_BROKERS: 'env:1' } });
    assert.equal(fromTopology.kind === 'kafka' && fromTopology.kafka.brokers[0], 'topo:9092');
    assert.equal(fromTopology.kind === 'kafka' && fromTopology.kafka.clientId, 'mine');
    assert.deepEqual(fromTopology.kind === 'kafka' && fromTopology.kafka.topics, { create: true, partitions: 6, replicationFactor: 1 });

    await writeFile(join(dir, 'ca.pem'), 'PEM-CA');
    const file = join(dir, 'prod.yaml');
    await writeFile(file, 'kafka:\n  brokers: [flag:9093]\n  ssl: { ca: ca.pem, rejectUnauthorized: false }\n  retry: { retries: 2 }\nembedded: { dir: state }\n');
    const fromFlag = resolveConnection(def, '/elsewhere', { file: loadConnectionFile(file), env: { SLUICE_KAFKA_BROKERS: 'env:1' } });
    assert.equal(fromFlag.kind, 'kafka');
    if (fromFlag.kind !== 'kafka') return;
    assert.equal(fromFlag.from, 'flag');
    assert.deepEqual(fromFlag.kafka.brokers, ['flag:9093']);
    assert.deepEqual(fromFlag.kafka.ssl, { ca: 'PEM-CA', rejectUnauthorized: false }, 'SSL files are read relative to the connection file');
    assert.equal(fromFlag.kafka.retry.retries, 2);
    assert.equal(fromFlag.dir, join(dir, 'state'), 'embedded.dir beside kafka names the local state cache');

    const embeddedFile = join(dir, 'local.yaml');
    await writeFile(embeddedFile, 'embedded: { dir: here }\n');
    assert.deepEqual(resolveConnection(def, '/elsewhere', { file: loadConnectionFile(embeddedFile), env: {} }), { kind: 'embedded', from: 'flag', dir: join(dir, 'here') }, 'a flag file with only embedded switches a Kafka topology back to the embedded log');
  }));

test('a bad connection file names the file, the line and the path', () =>
  withDir(async (dir) => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'kafka:\n  brokers: [a:1]\n  sasl:\n    mechanism: kerberos\n    username: u\n    password: p\n');
    assert.throws(() => loadConnectionFile(file), (err: Error) => {
      assert.match(err.message, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4 kafka\\.sasl\\.mechanism: must be one of "plain", "scram-sha-256", "scram-sha-512"`));
      return true;
    });
    const missing = join(dir, 'missing.yaml');
    await writeFile(missing, 'kafka:\n  clientId: x\n');
    assert.throws(() => loadConnectionFile(missing), /kafka\.brokers: required, but missing/);
    assert.throws(() => loadConnectionFile(join(dir, 'nope.yaml')), /cannot read connection file/);
  }));
