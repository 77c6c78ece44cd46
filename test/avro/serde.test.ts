import { test } from 'node:test';
import assert from 'node:assert/strict';
import avro from 'avsc';
import { AvroDecoder, AvroEncoder, DecodeFailure, deriveOutputSchema, EmbeddedSchemaStore, schemaIdOf, subjectName } from '../../connectors/serde/index.js';
import { EmbeddedLog } from '../../connectors/embedded/index.js';
import { FLIGHT_V1, FLIGHT_V2, flight, withLog } from './helpers.js';

const V1 = avro.Type.forSchema(FLIGHT_V1 as avro.Schema);
const V2 = avro.Type.forSchema(FLIGHT_V2 as avro.Schema);

function encoder(store: EmbeddedSchemaStore, type: avro.Type, subject = 'flights-value'): AvroEncoder {
  return new AvroEncoder({ store, schema: type, subject: () => subject, autoRegister: true, where: 'test' });
}

test('the Confluent wire format: magic byte 0, big-endian schema id, Avro body', async () => {
  await withLog(async (log) => {
    const store = await EmbeddedSchemaStore.open(log);
    const e = encoder(store, V1);
    await e.prepare([]);
    const bytes = e.encode(flight(7));
    assert.equal(bytes[0], 0);
    assert.equal(bytes.readUInt32BE(1), e.schemaId);
    assert.deepEqual({ ...(V1.fromBuffer(bytes.subarray(5)) as object) }, flight(7));
    assert.equal(schemaIdOf(bytes), e.schemaId);
    assert.match(String(schemaIdOf(Buffer.from('{"a":1}'))), /missing the Confluent magic byte.*JSON\?/);
  });
});

test('the embedded store hands out ids like a registry, checks BACKWARD compatibility, and keeps schemas across reopen', async () => {
  await withLog(async (log, dir) => {
    const store = await EmbeddedSchemaStore.open(log);
    const id1 = await store.register('flights-value', JSON.stringify(FLIGHT_V1));
    assert.equal(await store.register('flights-value', JSON.stringify(FLIGHT_V1, null, 2)), id1, 'same schema, same id');
    const id2 = await store.register('flights-value', JSON.stringify(FLIGHT_V2));
    assert.notEqual(id2, id1);
    assert.equal(await store.register('other-value', JSON.stringify(FLIGHT_V1)), id1, 'the same schema under another subject keeps its id');
    assert.deepEqual(await store.latest('flights-value').then((l) => l && { id: l.id, version: l.version }), { id: id2, version: 2 });
    // A required field without a default cannot read v2 data written before it: refused.
    const bad = { ...FLIGHT_V2, fields: [...FLIGHT_V2.fields, { name: 'gate', type: 'string' }] };
    await assert.rejects(store.register('flights-value', JSON.stringify(bad)), /BACKWARD compatibility/);
    await log.close();
    const again = await EmbeddedLog.open(`${dir}/log`);
    try {
      const reopened = await EmbeddedSchemaStore.open(again);
      assert.equal(JSON.parse(await reopened.byId(id2)).fields.length, 5);
      assert.equal(await reopened.register('new-value', '"string"'), id2 + 1, 'ids continue after reopen');
    } finally {
      await again.close();
      await log.close().catch(() => {});
    }
  }).catch((err: Error) => {
    // withLog closes the (already closed) log again; only real failures matter.
    if (!/closed|not open/i.test(err.message)) throw err;
  });
});

test('bad input: each record that cannot be decoded says why', async () => {
  await withLog(async (log) => {
    const store = await EmbeddedSchemaStore.open(log);
    const e1 = encoder(store, V1);
    await e1.prepare([]);
    const good = e1.encode(flight(1));
    // A writer schema the reader cannot resolve: `delay` became a string.
    const clash = avro.Type.forSchema({ ...FLIGHT_V1, fields: FLIGHT_V1.fields.map((f) => (f.name === 'delay' ? { name: 'delay', type: 'string' } : f)) } as avro.Schema);
    const eClash = encoder(store, clash, 'clash-value');
    await eClash.prepare([]);
    const clashing = eClash.encode({ ...flight(2), delay: 'late' });
    const unknownId = Buffer.from(good);
    unknownId.writeUInt32BE(999_999, 1);
    const garbage = Buffer.concat([good.subarray(0, 5), Buffer.from([0x02, 0xff, 0xff, 0xff, 0xff, 0x0f])]);
    const inputs = [good, Buffer.from('{"id":1}'), Buffer.alloc(0), unknownId, garbage, clashing, Buffer.concat([good, Buffer.from([1, 2])])];
    const d = new AvroDecoder({ store, reader: V1, expectRecord: true });
    await d.prepare(inputs);
    const out = inputs.map((b) => d.decode(b));
    assert.deepEqual({ ...(out[0] as object) }, flight(1));
    const reasons = out.slice(1).map((r) => (r instanceof DecodeFailure ? `${r.code}: ${r.reason}` : 'decoded'));
    assert.match(reasons[0]!, /^DECODE_ERROR: missing the Confluent magic byte: the first byte is 0x7b/);
    assert.match(reasons[1]!, /^DECODE_ERROR: empty value/);
    assert.match(reasons[2]!, /^UNKNOWN_SCHEMA: unknown schema id 999999: .*not found/);
    assert.match(reasons[3]!, /^DECODE_ERROR: the bytes do not decode as Avro with writer schema id \d+/);
    assert.match(reasons[4]!, /^SCHEMA_MISMATCH: writer schema id \d+ cannot be resolved to the reader schema test.sluice.Flight/);
    assert.match(reasons[5]!, /^DECODE_ERROR: .*2 bytes left over/);
  });
});

test('v1 and v2 writers on one topic both read as the reader schema (defaults fill the gap)', async () => {
  await withLog(async (log) => {
    const store = await EmbeddedSchemaStore.open(log);
    const e1 = encoder(store, V1);
    const e2 = encoder(store, V2);
    await e1.prepare([]);
    await e2.prepare([]);
    const bytes = [e1.encode(flight(1)), e2.encode(flight(2, { carrier: 'UA' }))];
    const d = new AvroDecoder({ store, reader: V2, expectRecord: true });
    await d.prepare(bytes);
    assert.deepEqual(bytes.map((b) => ({ ...(d.decode(b) as object) })), [flight(1, { carrier: 'unknown' }), flight(2, { carrier: 'UA' })]);
    const oldReader = new AvroDecoder({ store, reader: V1, expectRecord: true });
    await oldReader.prepare(bytes);
    assert.deepEqual({ ...(oldReader.decode(bytes[1]!) as object) }, flight(2), 'a v1 reader skips the field it does not know');
  });
});

test('derived output schemas: input fields keep their types, added fields are optional, and an added output stays BACKWARD compatible', () => {
  const out1 = deriveOutputSchema(V1, [{ ...flight(1), score: 0.25, model: 'm1' }], 'test.sluice.FlightOutput');
  assert.deepEqual((out1.schema() as { fields: { name: string; type: unknown }[] }).fields.map((f) => [f.name, f.type]), [
    ['id', 'long'], ['origin', 'string'], ['distance', 'double'], ['delay', 'double'], ['score', ['null', 'double']], ['model', ['null', 'string']],
  ]);
  const out2 = deriveOutputSchema(V1, [{ ...flight(1), score: 0.25, model: 'm1', score2: 0.5 }], 'test.sluice.FlightOutput');
  const v1Data = out1.toBuffer({ ...flight(3), score: 0.1, model: 'm1' });
  assert.deepEqual({ ...(out2.fromBuffer(v1Data, out2.createResolver(out1)) as object) }, { ...flight(3), score: 0.1, model: 'm1', score2: null });
  assert.equal(subjectName('topic', 'scored', false, out1), 'scored-value');
  assert.equal(subjectName('record', 'scored', false, out1), 'test.sluice.FlightOutput');
  assert.equal(subjectName('topic-record', 'scored', true, out1), 'scored-test.sluice.FlightOutput');
  assert.throws(() => deriveOutputSchema(undefined, [{ nested: { a: 1 } }], 'x.Y'), /cannot derive an Avro type for output field "nested"/);
});
