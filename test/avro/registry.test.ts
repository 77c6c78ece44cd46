// Avro through a real Confluent-compatible Schema Registry (scripts/registry/start.sh), topics
// on the embedded log. Fails rather than skips without the registry under CI=true / REQUIRE_KAFKA=1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import avro from 'avsc';
import { SchemaRegistryClient } from '@confluentinc/schemaregistry/dist/schemaregistry-client.js';
import { AvroDeserializer, AvroSerializer } from '@confluentinc/schemaregistry/dist/serde/avro.js';
import { SerdeType } from '@confluentinc/schemaregistry/dist/serde/serde.js';
import type { EmbeddedLog } from '../../connectors/embedded/index.js';
import { AvroEncoder, RegistrySchemaStore } from '../../connectors/serde/index.js';
import { memoryLogger } from '../../src/core/logger.js';
import { Job } from '../../src/runtime/job.js';
import { FLIGHT_V1, FLIGHT_V2, REGISTRY_URL, flight, registryAvailable, registryProxy, unique, withLog } from './helpers.js';
import { scoringTopology, writeFlightModel } from './model.js';

const V1 = avro.Type.forSchema(FLIGHT_V1 as avro.Schema);
const V2 = avro.Type.forSchema(FLIGHT_V2 as avro.Schema);

function client(url = REGISTRY_URL): SchemaRegistryClient {
  return new SchemaRegistryClient({ baseURLs: [url], maxRetries: 0 });
}

/** Produces values framed by sluice's own encoder with `type`, registered under `<topic>-value` in the real registry. */
async function produce(log: EmbeddedLog, topic: string, type: avro.Type, values: unknown[]): Promise<number> {
  const store = new RegistrySchemaStore({ url: REGISTRY_URL });
  const e = new AvroEncoder({ store, schema: type, subject: () => `${topic}-value`, autoRegister: true, where: 'test producer' });
  await e.prepare([]);
  await log.produce(topic, values.map((v) => ({ key: null, value: e.encode(v), timestamp: Date.now() })));
  await store.close();
  return e.schemaId!;
}

/** Reads a topic's values with Confluent's own AvroDeserializer. */
async function confluentRead(log: EmbeddedLog, topic: string): Promise<Record<string, unknown>[]> {
  const c = client();
  const d = new AvroDeserializer(c, SerdeType.VALUE, {});
  const out: Record<string, unknown>[] = [];
  for (const r of await log.read(topic, 0, 0, 10_000)) out.push({ ...(await d.deserialize(topic, r.value as Buffer)) });
  await c.close();
  return out;
}

async function deadLetters(log: EmbeddedLog, topic: string): Promise<{ error: { code: string; message: string }; rawBase64?: string }[]> {
  return (await log.read(topic, 0, 0, 10_000)).map((r) => JSON.parse(String(r.value)) as { error: { code: string; message: string } });
}

test('interop: Confluent AvroSerializer → sluice → Confluent AvroDeserializer, v1 and v2 producers on one topic', { timeout: 60_000 }, async (t) => {
  if (!(await registryAvailable(t))) return;
  await withLog(async (log, dir) => {
    const model = writeFlightModel(join(dir, 'models'));
    const input = unique('flights');
    const output = unique('scored');
    await log.createTopic(input, 1);
    const c = client();
    // Producer 1 on v1, producer 2 on v2 (a field added with a default): both Confluent's serializer.
    const v1Id = await c.register(`${input}-value`, { schemaType: 'AVRO', schema: JSON.stringify(FLIGHT_V1) });
    const s1 = new AvroSerializer(c, SerdeType.VALUE, { useSchemaId: v1Id, autoRegisterSchemas: false });
    const first = [flight(1), flight(2)];
    const bytes1 = await Promise.all(first.map((v) => s1.serialize(input, v)));
    const v2Id = await c.register(`${input}-value`, { schemaType: 'AVRO', schema: JSON.stringify(FLIGHT_V2) });
    const s2 = new AvroSerializer(c, SerdeType.VALUE, { useSchemaId: v2Id, autoRegisterSchemas: false });
    const bytes2 = await s2.serialize(input, flight(3, { carrier: 'UA' }));
    assert.notEqual(v1Id, v2Id);
    await log.produce(input, [...bytes1, bytes2].map((value) => ({ key: null, value, timestamp: 1 })));
    await c.close();

    const def = scoringTopology({ name: unique('interop'), model, input, output, outputs: 1, registry: { url: REGISTRY_URL, autoRegister: true } });
    const s = await (await Job.start(def, { log, untilIdle: true, logger: memoryLogger() })).done;
    assert.equal(s.status, 'completed', s.error);
    assert.deepEqual({ in: s.recordsIn, out: s.recordsOut, dead: s.deadLettered }, { in: 3, out: 3, dead: 0 });

    // sluice's output, read by Confluent's deserializer (it fetches the schema sluice registered).
    const out = await confluentRead(log, output);
    assert.deepEqual(out.map((r) => [r.id, r.origin, r.carrier, r.model, r.model_version]), [[1, 'SFO', 'unknown', 'flight-mlp', 'v1'], [2, 'ORD', 'unknown', 'flight-mlp', 'v1'], [3, 'SFO', 'UA', 'flight-mlp', 'v1']].map(([id, , carrier, m, v]) => [id, flight(id as number).origin, carrier, m, v]));
    for (const r of out) assert.ok((r.p_delay as number) > 0 && (r.p_delay as number) < 1);
  });
});

test('a model upgrade that adds an output registers a new, BACKWARD-compatible version of the output subject; autoRegister is off by default', { timeout: 60_000 }, async (t) => {
  if (!(await registryAvailable(t))) return;
  await withLog(async (log, dir) => {
    const model = writeFlightModel(join(dir, 'models'));
    const input = unique('flights');
    const output = unique('scored');
    await log.createTopic(input, 1);
    await produce(log, input, V1, [flight(1), flight(2)]);
    const name = unique('upgrade');

    // A production registry profile: nothing is registered unless asked, and the job says what to do.
    const strict = await (await Job.start(scoringTopology({ name, model, input, output, outputs: 1, registry: { url: REGISTRY_URL } }), { log, untilIdle: true, logger: memoryLogger() })).done;
    assert.equal(strict.status, 'failed');
    assert.match(strict.error!, /SCHEMA_REGISTRY: .*not registered under subject "scored-[0-9a-f]+-value".*autoRegister is off/);

    const run = async (outputs: 1 | 2) => (await Job.start(scoringTopology({ name, model, input, output, outputs, registry: { url: REGISTRY_URL, autoRegister: true } }), { log, untilIdle: true, logger: memoryLogger() })).done;
    const r1 = await run(1);
    assert.equal(r1.status, 'completed', r1.error);
    await produce(log, input, V1, [flight(3)]);
    const r2 = await run(2);
    assert.equal(r2.status, 'completed', r2.error);

    const c = client();
    assert.deepEqual(await c.getAllVersions(`${output}-value`), [1, 2]);
    const v2 = await c.getSchemaMetadata(`${output}-value`, 2);
    const fields = (JSON.parse(v2.schema) as { fields: { name: string; type: unknown; default?: unknown }[] }).fields;
    assert.deepEqual(fields.find((f) => f.name === 'p_cancel'), { name: 'p_cancel', type: ['null', 'double'], default: null });
    // The registry itself judges the upgrade compatible with version 1 under BACKWARD.
    assert.equal(await c.testCompatibility(`${output}-value`, 1, { schemaType: 'AVRO', schema: v2.schema }), true);
    await c.close();
    const out = await confluentRead(log, output);
    assert.deepEqual(out.map((r) => [r.id, r.model_version, typeof r.p_cancel]), [[1, 'v1', 'undefined'], [2, 'v1', 'undefined'], [3, 'v2', 'number']]);

    // An incompatible writer schema is refused by the registry, and the job says so.
    const bad = { type: 'record', name: 'FlightOutput', namespace: 'test.sluice', fields: [{ name: 'id', type: 'long' }, { name: 'p_delay', type: 'string' }] };
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'bad.avsc'), JSON.stringify(bad));
    await produce(log, input, V1, [flight(4)]);
    const def = scoringTopology({ name, model, input, output, outputs: 1, registry: { url: REGISTRY_URL, autoRegister: true }, sinkAvro: { schema: join(dir, 'bad.avsc') } });
    // A declared writer schema is registered when the job starts: a refusal stops it before it reads anything.
    await assert.rejects(Job.start(def, { log, untilIdle: true, logger: memoryLogger() }), (err: Error & { code?: string }) => err.code === 'SCHEMA_REGISTRY' && /refused the schema .*incompatible/.test(err.message));
  });
});

test('registry outage during a run: cached schemas keep working, an unknown id is dead-lettered with the reason, and the registry coming back is picked up', { timeout: 90_000 }, async (t) => {
  if (!(await registryAvailable(t))) return;
  const proxy = await registryProxy();
  try {
    await withLog(async (log, dir) => {
      const model = writeFlightModel(join(dir, 'models'));
      const input = unique('flights');
      const output = unique('scored');
      await log.createTopic(input, 1);
      await produce(log, input, V1, [flight(1), flight(2)]);
      const def = scoringTopology({ name: unique('outage'), model, input, output, outputs: 1, registry: { url: proxy.url, autoRegister: true } });
      const job = await Job.start(def, { log, logger: memoryLogger() });
      const count = (topic: string) => (log.topic(topic) ? log.endOffset(topic, 0) : 0);
      const until = async (what: string, ok: () => boolean) => {
        for (let i = 0; i < 300 && !ok(); i++) await sleep(100);
        assert.ok(ok(), `timed out waiting for ${what} (out ${count(output)}, dead ${count(`${output}-dlq`)})`);
      };
      await until('the first records', () => count(output) === 2);

      proxy.down();
      await produce(log, input, V1, [flight(3)]); // an id the job has cached
      await produce(log, input, V2, [flight(4, { carrier: 'UA' })]); // an id it never saw
      await until('the outage batch', () => count(output) === 3 && count(`${output}-dlq`) === 1);
      const dead = await deadLetters(log, `${output}-dlq`);
      assert.equal(dead[0]!.error.code, 'UNKNOWN_SCHEMA');
      assert.match(dead[0]!.error.message, /unknown schema id \d+: .*unreachable or failing/);
      assert.ok(dead[0]!.rawBase64, 'the original bytes are kept for a replay');

      proxy.up();
      await produce(log, input, V2, [flight(5, { carrier: 'AA' })]);
      await until('recovery', () => count(output) === 4);
      const s = await job.stop();
      assert.equal(s.status, 'stopped', s.error);
      assert.deepEqual({ in: s.recordsIn, out: s.recordsOut, dead: s.deadLettered }, { in: 5, out: 4, dead: 1 });
      assert.deepEqual((await confluentRead(log, output)).map((r) => r.id), [1, 2, 3, 5]);
    });
  } finally {
    await proxy.close();
  }
});
