import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import avro from 'avsc';
import type { EmbeddedLog } from '../../connectors/embedded/index.js';
import { AvroDecoder, AvroEncoder, EmbeddedSchemaStore } from '../../connectors/serde/index.js';
import { memoryLogger } from '../../src/core/logger.js';
import { Job } from '../../src/runtime/job.js';
import type { TopologyDefinition } from '../../src/topology/schema.js';
import { FLIGHT_V1, FLIGHT_V2, flight, withLog } from './helpers.js';
import { scoringTopology, writeFlightModel } from './model.js';

const V1 = avro.Type.forSchema(FLIGHT_V1 as avro.Schema);
const V2 = avro.Type.forSchema(FLIGHT_V2 as avro.Schema);

async function produce(log: EmbeddedLog, store: EmbeddedSchemaStore, topic: string, type: avro.Type, values: unknown[]): Promise<void> {
  const e = new AvroEncoder({ store, schema: type, subject: () => `${topic}-value`, autoRegister: true, where: 'test producer' });
  await e.prepare([]);
  await log.produce(topic, values.map((v, i) => ({ key: `k${i}`, value: e.encode(v), timestamp: 1000 + i })));
}

async function readAvro(log: EmbeddedLog, store: EmbeddedSchemaStore, topic: string): Promise<Record<string, unknown>[]> {
  const recs = await log.read(topic, 0, 0, 10_000);
  const d = new AvroDecoder({ store, expectRecord: true });
  await d.prepare(recs.map((r) => r.value));
  return recs.map((r) => ({ ...(d.decode(r.value) as object) }));
}

test('embedded log, no registry: Avro in (v1 and v2 writers) → score → Avro out with a derived schema; bad records dead-lettered; counts reconcile', { timeout: 60_000 }, async () => {
  await withLog(async (log, dir) => {
    const model = writeFlightModel(join(dir, 'models'));
    await log.createTopic('flights', 1);
    const store = await EmbeddedSchemaStore.open(log);
    // The reader schema is the subject's latest at start: v2 (a field added with a default).
    await produce(log, store, 'flights', V1, [flight(1), flight(2)]);
    await produce(log, store, 'flights', V2, [flight(3, { carrier: 'UA' })]);
    await log.produce('flights', [
      { key: null, value: '{"id": 4}', timestamp: 5 }, // JSON where Avro is expected
      { key: null, value: Buffer.from([0, 0, 0, 0x7f, 0x7f, 2]), timestamp: 6 }, // an id nobody registered
    ]);
    const def = scoringTopology({ name: 'avro-embedded', model, input: 'flights', output: 'scored', outputs: 1 });
    const s = await (await Job.start(def, { log, untilIdle: true, logger: memoryLogger() })).done;
    assert.equal(s.status, 'completed', s.error);
    assert.deepEqual({ in: s.recordsIn, out: s.recordsOut, dead: s.deadLettered }, { in: 5, out: 3, dead: 2 });

    const out = await readAvro(log, store, 'scored');
    assert.deepEqual(out.map((r) => [r.id, r.carrier, r.model, r.model_version]), [[1, 'unknown', 'flight-mlp', 'v1'], [2, 'unknown', 'flight-mlp', 'v1'], [3, 'UA', 'flight-mlp', 'v1']]);
    for (const r of out) assert.ok(typeof r.p_delay === 'number' && r.p_delay > 0 && r.p_delay < 1, `a probability: ${String(r.p_delay)}`);
    const latest = await store.latest('scored-value');
    const schema = JSON.parse(latest!.schema) as { name: string; namespace: string; fields: { name: string; type: unknown }[] };
    assert.equal(`${schema.namespace}.${schema.name}`, 'test.sluice.FlightOutput');
    assert.deepEqual(schema.fields.map((f) => f.name), ['id', 'origin', 'distance', 'delay', 'carrier', 'p_delay', 'model', 'model_version']);

    const dead = (await log.read('scored-dlq', 0, 0, 100)).map((r) => JSON.parse(String(r.value)) as { error: { code: string; message: string }; raw?: string; rawBase64?: string });
    assert.deepEqual(dead.map((d) => d.error.code), ['DECODE_ERROR', 'UNKNOWN_SCHEMA']);
    assert.match(dead[0]!.error.message, /a text value where Avro bytes/);
    assert.equal(dead[0]!.raw, '{"id": 4}');
    assert.match(dead[1]!.error.message, /unknown schema id 32639/);
    assert.equal(dead[1]!.rawBase64, Buffer.from([0, 0, 0, 0x7f, 0x7f, 2]).toString('base64'), 'the original bytes travel with the dead letter');

    // The model upgrade adds an output: the derived schema gains an optional field, registered as version 2.
    await produce(log, store, 'flights', V2, [flight(5, { carrier: 'AA' })]);
    const def2 = scoringTopology({ name: 'avro-embedded', model, input: 'flights', output: 'scored', outputs: 2 });
    const s2 = await (await Job.start(def2, { log, untilIdle: true, logger: memoryLogger() })).done;
    assert.deepEqual({ in: s2.recordsIn, out: s2.recordsOut, dead: s2.deadLettered }, { in: 1, out: 1, dead: 0 });
    const v2 = await store.latest('scored-value');
    assert.equal(v2!.version, 2);
    const all = await readAvro(log, store, 'scored');
    assert.deepEqual(all.map((r) => r.model_version), ['v1', 'v1', 'v1', 'v2']);
    assert.equal(typeof all[3]!.p_cancel, 'number');
    // Old output records read with the new output schema: the added output is null.
    const d2 = new AvroDecoder({ store, reader: avro.Type.forSchema(JSON.parse(v2!.schema) as avro.Schema), expectRecord: true });
    const first = (await log.read('scored', 0, 0, 1))[0]!.value;
    await d2.prepare([first]);
    assert.equal((d2.decode(first) as Record<string, unknown>).p_cancel, null);
  });
});

test('Avro keys: record keys decode to their JSON text for keyed steps, and are written back as Avro under <topic>-key', { timeout: 30_000 }, async () => {
  await withLog(async (log, dir) => {
    await log.createTopic('trips', 2);
    const store = await EmbeddedSchemaStore.open(log);
    const keyType = avro.Type.forSchema({ type: 'record', name: 'TripKey', namespace: 'test.sluice', fields: [{ name: 'city', type: 'string' }, { name: 'n', type: 'int' }] } as avro.Schema);
    const keys = new AvroEncoder({ store, schema: keyType, subject: () => 'trips-key', autoRegister: true, where: 'test keys' });
    const values = new AvroEncoder({ store, schema: V1, subject: () => 'trips-value', autoRegister: true, where: 'test values' });
    await keys.prepare([]);
    await values.prepare([]);
    const k = (city: string, n: number) => keys.encode({ city, n });
    await log.produce('trips', [
      { key: k('SFO', 1), value: values.encode(flight(1)), timestamp: 1 },
      { key: k('JFK', 2), value: values.encode(flight(2)), timestamp: 2 },
      { key: Buffer.from('not avro'), value: values.encode(flight(3)), timestamp: 3 },
    ]);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'key.avsc'), JSON.stringify(keyType.schema()));
    const def = {
      name: 'avro-keys',
      sources: { trips: { type: 'topic', topic: 'trips', format: 'avro', keyFormat: 'avro' } },
      pipeline: [{ map: { set: { key_seen: '$key' } } }, { sink: 'out' }],
      sinks: { out: { type: 'topic', topic: 'trips-out', partitions: 2, format: 'avro', keyFormat: 'avro', avro: { keySchema: join(dir, 'key.avsc') } }, dlq: { type: 'topic', topic: 'trips-dlq' } },
      deadLetter: 'dlq',
    } as TopologyDefinition;
    const s = await (await Job.start(def, { log, untilIdle: true, logger: memoryLogger() })).done;
    assert.equal(s.status, 'completed', s.error);
    assert.deepEqual({ in: s.recordsIn, out: s.recordsOut, dead: s.deadLettered }, { in: 3, out: 2, dead: 1 });
    const dead = (await log.read('trips-dlq', 0, 0, 10)).map((r) => JSON.parse(String(r.value)) as { error: { message: string } });
    assert.match(dead[0]!.error.message, /^key: missing the Confluent magic byte/);
    const out = [...(await log.read('trips-out', 0, 0, 10)), ...(await log.read('trips-out', 1, 0, 10))];
    const d = new AvroDecoder({ store, expectRecord: false });
    await d.prepare(out.map((r) => r.key));
    assert.deepEqual(out.map((r) => ({ ...(d.decode(r.key as Buffer) as object) })).sort((a, b) => String((a as { city: string }).city).localeCompare((b as { city: string }).city)), [{ city: 'JFK', n: 2 }, { city: 'SFO', n: 1 }]);
    assert.equal((await store.latest('trips-out-key'))?.id, keys.schemaId, 'the key schema is registered (same id) under the output topic');
    const dv = new AvroDecoder({ store, expectRecord: true });
    await dv.prepare(out.map((r) => r.value));
    assert.deepEqual(out.map((r) => (dv.decode(r.value) as { key_seen: string }).key_seen).sort(), ['{"city":"JFK","n":2}', '{"city":"SFO","n":1}'], 'keyed steps see the key as JSON text');
  });
});

test('a value that does not fit the sink\'s declared Avro schema is dead-lettered with the field, and the rest is written', { timeout: 30_000 }, async () => {
  await withLog(async (log, dir) => {
    await log.createTopic('legs', 1);
    const store = await EmbeddedSchemaStore.open(log);
    await produce(log, store, 'legs', V1, [flight(1), flight(2), flight(3)]);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'out.avsc'), JSON.stringify({ type: 'record', name: 'Leg', fields: [{ name: 'id', type: 'long' }, { name: 'label', type: 'string' }] }));
    const def = {
      name: 'avro-misfit',
      sources: { legs: { type: 'topic', topic: 'legs', format: 'avro' } },
      // id 2 gets a number where the schema wants a string
      pipeline: [{ map: { set: { label: "id == 2 ? 7 : 'ok'" } } }, { sink: 'out' }],
      sinks: { out: { type: 'topic', topic: 'legs-out', format: 'avro', avro: { schema: join(dir, 'out.avsc') } }, dlq: { type: 'topic', topic: 'legs-dlq' } },
      deadLetter: 'dlq',
    } as TopologyDefinition;
    const s = await (await Job.start(def, { log, untilIdle: true, logger: memoryLogger() })).done;
    assert.equal(s.status, 'completed', s.error);
    assert.deepEqual({ in: s.recordsIn, out: s.recordsOut, dead: s.deadLettered }, { in: 3, out: 2, dead: 1 });
    const dead = (await log.read('legs-dlq', 0, 0, 10)).map((r) => JSON.parse(String(r.value)) as { error: { code: string; message: string; operator: string }; value: { id: number } });
    assert.equal(dead[0]!.error.code, 'INVALID_INPUT');
    assert.equal(dead[0]!.error.operator, 'sink:out');
    assert.match(dead[0]!.error.message, /does not fit the writer schema .*label: 7 is not "string"/);
    assert.equal(dead[0]!.value.id, 2);
    assert.deepEqual((await readAvro(log, store, 'legs-out')).map((r) => r.id), [1, 3]);
  });
});

test('with a derived output schema, a field that first appears after the derivation is dead-lettered, never dropped', { timeout: 30_000 }, async () => {
  await withLog(async (log, dir) => {
    await log.createTopic('late-fields', 1);
    const store = await EmbeddedSchemaStore.open(log);
    await produce(log, store, 'late-fields', V1, [flight(1), flight(2), flight(3)]);
    const { writeFile } = await import('node:fs/promises');
    const udf = join(dir, 'udf.mjs');
    await writeFile(udf, 'export function addLate(v) { return v.id === 3 ? { ...v, late_field: "x" } : v; }\n');
    const def = {
      name: 'avro-late-field',
      sources: { in: { type: 'topic', topic: 'late-fields', format: 'avro' } },
      pipeline: [{ map: { udf: { module: udf, export: 'addLate' } } }, { sink: 'out' }],
      sinks: { out: { type: 'topic', topic: 'late-fields-out', format: 'avro' }, dlq: { type: 'topic', topic: 'late-fields-dlq' } },
      deadLetter: 'dlq',
      // One record per batch: the schema is derived from record 1 alone.
      runtime: { batchSize: 1 },
    } as TopologyDefinition;
    const s = await (await Job.start(def, { log, untilIdle: true, logger: memoryLogger() })).done;
    assert.equal(s.status, 'completed', s.error);
    assert.deepEqual({ in: s.recordsIn, out: s.recordsOut, dead: s.deadLettered }, { in: 3, out: 2, dead: 1 });
    const dead = (await log.read('late-fields-dlq', 0, 0, 10)).map((r) => JSON.parse(String(r.value)) as { error: { code: string; message: string }; value: { id: number } });
    assert.equal(dead.length, 1);
    assert.equal(dead[0]!.error.code, 'INVALID_INPUT');
    assert.match(dead[0]!.error.message, /field "late_field" is not in the output schema/);
    assert.equal(dead[0]!.value.id, 3);
    assert.deepEqual((await readAvro(log, store, 'late-fields-out')).map((r) => r.id), [1, 2]);
  });
});

test('subject name strategies on a sink: record and topic-record name the subject after the record', { timeout: 30_000 }, async () => {
  await withLog(async (log) => {
    await log.createTopic('src', 1);
    const store = await EmbeddedSchemaStore.open(log);
    await produce(log, store, 'src', V1, [flight(1)]);
    for (const [strategy, subject] of [['record', 'test.sluice.Leg'], ['topic-record', 'dst-topic-record-test.sluice.Leg']] as const) {
      const def = {
        name: `strategy-${strategy}`,
        sources: { src: { type: 'topic', topic: 'src', format: 'avro' } },
        pipeline: [{ sink: 'out' }],
        sinks: { out: { type: 'topic', topic: `dst-${strategy}`, format: 'avro', avro: { subjectStrategy: strategy, recordName: 'test.sluice.Leg' } }, dlq: { type: 'topic', topic: 'dlq' } },
        deadLetter: 'dlq',
      } as TopologyDefinition;
      const s = await (await Job.start(def, { log, untilIdle: true, logger: memoryLogger() })).done;
      assert.equal(s.recordsOut, 1, s.error);
      assert.ok(await store.latest(subject), `registered under ${subject}`);
      assert.equal(await store.latest(`dst-${strategy}-value`), undefined);
    }
  });
});
