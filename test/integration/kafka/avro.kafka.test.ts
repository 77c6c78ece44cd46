// Avro on a real Kafka broker with the real schema registry: Confluent's serializer writes the
// input (v1 and v2 producers on one topic), sluice scores it and writes Avro that Confluent's
// deserializer reads; undecodable bytes reach the Kafka dead-letter topic unchanged; a registry
// outage during a live run dead-letters only ids sluice has not seen, and recovery is picked up.
// First: sluice's Kafka connector fixes kafkajs's read_committed filter as kafkajs loads.
import '../../../connectors/kafka/index.js';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import { SchemaRegistryClient } from '@confluentinc/schemaregistry/dist/schemaregistry-client.js';
import { AvroDeserializer, AvroSerializer } from '@confluentinc/schemaregistry/dist/serde/avro.js';
import { SerdeType } from '@confluentinc/schemaregistry/dist/serde/serde.js';
import { memoryLogger } from '../../../src/core/logger.js';
import { Job } from '../../../src/runtime/job.js';
import { FLIGHT_V1, FLIGHT_V2, REGISTRY_URL, flight, registryAvailable, registryProxy } from '../../avro/helpers.js';
import { scoringTopology, writeFlightModel } from '../../avro/model.js';
import { kafkaAvailable, readTopic, testConnection, testKafka, uniqueName } from './helpers.js';

/** Confluent's own AvroSerializer, pinned to one registered schema version. */
async function confluentSerializer(c: SchemaRegistryClient, subject: string, schema: object): Promise<AvroSerializer> {
  const id = await c.register(subject, { schemaType: 'AVRO', schema: JSON.stringify(schema) });
  return new AvroSerializer(c, SerdeType.VALUE, { useSchemaId: id, autoRegisterSchemas: false });
}

async function send(kafka: Kafka, topic: string, values: Buffer[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  if (!(await admin.listTopics()).includes(topic)) await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const p = kafka.producer();
  await p.connect();
  await p.send({ topic, acks: -1, messages: values.map((value, i) => ({ key: `k${i}`, value })) });
  await p.disconnect();
}

async function confluentRead(kafka: Kafka, topic: string): Promise<Record<string, unknown>[]> {
  const c = new SchemaRegistryClient({ baseURLs: [REGISTRY_URL] });
  const d = new AvroDeserializer(c, SerdeType.VALUE, {});
  const out: Record<string, unknown>[] = [];
  for (const r of await readTopic(kafka, topic)) out.push({ ...(await d.deserialize(topic, r.value!)) });
  await c.close();
  return out;
}

describe('Avro on Kafka with the schema registry', () => {
  test('round trip: v1 and v2 producers (Confluent serializer) → score → Avro read by the Confluent deserializer; bad bytes dead-lettered unchanged', { timeout: 120_000 }, async (t) => {
    if (!(await kafkaAvailable(t)) || !(await registryAvailable(t))) return;
    const kafka = testKafka();
    const [input, output] = [uniqueName('avro-in'), uniqueName('avro-out')];
    const dir = await mkdtemp(join(tmpdir(), 'sluice-kafka-avro-'));
    const c = new SchemaRegistryClient({ baseURLs: [REGISTRY_URL] });
    try {
      const s1 = await confluentSerializer(c, `${input}-value`, FLIGHT_V1);
      const s2 = await confluentSerializer(c, `${input}-value`, FLIGHT_V2);
      const bad = Buffer.from('{"id": 9}');
      await send(kafka, input, [await s1.serialize(input, flight(1)), await s1.serialize(input, flight(2)), await s2.serialize(input, flight(3, { carrier: 'UA' })), bad]);
      const def = scoringTopology({ name: uniqueName('avro-k'), model: writeFlightModel(join(dir, 'models')), input, output, outputs: 1 });
      const job = await Job.start(def, { connection: { ...testConnection(), schemaRegistry: { url: REGISTRY_URL, autoRegister: true } }, dataDir: join(dir, 'state'), untilIdle: true, logger: memoryLogger() });
      const s = await job.done;
      assert.equal(s.status, 'completed', s.error);
      assert.deepEqual({ in: s.recordsIn, out: s.recordsOut, dead: s.deadLettered }, { in: 4, out: 3, dead: 1 });
      const out = await confluentRead(kafka, output);
      assert.deepEqual(out.map((r) => [r.id, r.carrier, r.model_version]), [[1, 'unknown', 'v1'], [2, 'unknown', 'v1'], [3, 'UA', 'v1']]);
      assert.ok(out.every((r) => typeof r.p_delay === 'number'));
      const dead = await readTopic(kafka, `${output}-dlq`);
      assert.equal(dead.length, 1);
      assert.deepEqual(dead[0]!.value, bad, 'the original bytes are the dead letter value');
      assert.equal(dead[0]!.headers['sluice.error.code'], 'DECODE_ERROR');
      assert.match(dead[0]!.headers['sluice.error.message']!, /text value where Avro bytes|missing the Confluent magic byte/);
    } finally {
      await c.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('registry outage during a live run: cached ids keep flowing, an unseen id is dead-lettered with the reason, recovery is picked up', { timeout: 120_000 }, async (t) => {
    if (!(await kafkaAvailable(t)) || !(await registryAvailable(t))) return;
    const kafka = testKafka();
    const [input, output] = [uniqueName('avro-in'), uniqueName('avro-out')];
    const dir = await mkdtemp(join(tmpdir(), 'sluice-kafka-avro-'));
    const c = new SchemaRegistryClient({ baseURLs: [REGISTRY_URL] });
    const proxy = await registryProxy();
    try {
      const s1 = await confluentSerializer(c, `${input}-value`, FLIGHT_V1);
      await send(kafka, input, [await s1.serialize(input, flight(1))]);
      const def = scoringTopology({ name: uniqueName('avro-outage'), model: writeFlightModel(join(dir, 'models')), input, output, outputs: 1 });
      const job = await Job.start(def, { connection: { ...testConnection(), schemaRegistry: { url: proxy.url, autoRegister: true } }, dataDir: join(dir, 'state'), logger: memoryLogger() });
      const count = async (topic: string) => {
        const admin = kafka.admin();
        await admin.connect();
        try {
          if (!(await admin.listTopics()).includes(topic)) return 0;
          return (await admin.fetchTopicOffsets(topic)).reduce((n, o) => n + Number(o.high), 0);
        } finally {
          await admin.disconnect();
        }
      };
      // Output offsets count transaction markers under exactlyOnce; this topology runs atLeastOnce (the default).
      const until = async (what: string, out: number, dead: number) => {
        for (let i = 0; i < 120; i++) {
          if ((await count(output)) === out && (await count(`${output}-dlq`)) === dead) return;
          await sleep(250);
        }
        assert.fail(`timed out waiting for ${what}: out ${await count(output)}, dead ${await count(`${output}-dlq`)}`);
      };
      await until('the first record', 1, 0);

      proxy.down();
      const s2 = await confluentSerializer(c, `${input}-value`, FLIGHT_V2); // registered directly, never seen by sluice
      await send(kafka, input, [await s1.serialize(input, flight(2)), await s2.serialize(input, flight(3, { carrier: 'UA' }))]);
      await until('the outage batch', 2, 1);
      const dead = await readTopic(kafka, `${output}-dlq`);
      assert.equal(dead[0]!.headers['sluice.error.code'], 'UNKNOWN_SCHEMA');
      assert.match(dead[0]!.headers['sluice.error.message']!, /unknown schema id \d+: .*unreachable or failing/);

      proxy.up();
      await send(kafka, input, [await s2.serialize(input, flight(4, { carrier: 'AA' }))]);
      await until('recovery', 3, 1);
      const s = await job.stop();
      assert.notEqual(s.status, 'failed', s.error);
      assert.deepEqual((await confluentRead(kafka, output)).map((r) => r.id), [1, 2, 4]);
    } finally {
      await proxy.close();
      await c.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
