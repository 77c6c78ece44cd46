import { MockClient } from '@confluentinc/schemaregistry/dist/mock-schemaregistry-client.js';
import { AvroDeserializer, AvroSerializer } from '@confluentinc/schemaregistry/dist/serde/avro.js';
import { SerdeType } from '@confluentinc/schemaregistry/dist/serde/serde.js';
import { AvroDecoder, AvroEncoder, parseAvroSchema, RegistrySchemaStore } from '../../connectors/serde/index.js';
import type { Benchmark } from '../lib/benchmark.js';
import { median, result, round } from '../lib/result.js';

const RECORDS = Number(process.env.BENCH_AVRO_RECORDS ?? 200_000);
const REPS = 3;
const TOPIC = 'events';

/** A 10-field event, like the ones the stream benchmarks score. */
export const EVENT_SCHEMA = {
  type: 'record',
  name: 'Event',
  namespace: 'bench.sluice',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'user', type: 'string' },
    ...['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7'].map((name) => ({ name, type: 'double' })),
  ],
};

export function events(n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => ({ id: i, user: `u${i % 997}`, ...Object.fromEntries(Array.from({ length: 8 }, (_, j) => [`f${j}`, ((i * 31 + j * 17) % 200) / 100 - 1])) }));
}

/** Records per second of `fn` over `n` records: median of REPS after a warm-up. */
async function rate(n: number, fn: () => Promise<void> | void): Promise<number> {
  await fn();
  const xs: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const t = performance.now();
    await fn();
    xs.push(n / ((performance.now() - t) / 1000));
  }
  return median(xs);
}

export const avroSerde: Benchmark = {
  name: 'avro-serde',
  mode: 'serde',
  description: `Avro on the Confluent wire format, ${RECORDS} records of a 10-field event: sluice's encoder/decoder against @confluentinc/schemaregistry's AvroSerializer/AvroDeserializer on the same records and the same in-memory registry client (target ≥ 5×), and against bare avsc (the ceiling of the format)`,
  async run() {
    const client = new MockClient();
    const schema = JSON.stringify(EVENT_SCHEMA);
    const id = await client.register(`${TOPIC}-value`, { schemaType: 'AVRO', schema });
    const values = events(RECORDS);

    const serializer = new AvroSerializer(client, SerdeType.VALUE, { useSchemaId: id, autoRegisterSchemas: false });
    const deserializer = new AvroDeserializer(client, SerdeType.VALUE, {});
    const store = new RegistrySchemaStore({ url: 'mock://bench', client });
    const type = parseAvroSchema(schema, 'bench schema');
    const encoder = new AvroEncoder({ store, schema: type, subject: () => `${TOPIC}-value`, autoRegister: false, where: 'bench' });
    await encoder.prepare([]);
    const decoder = new AvroDecoder({ store, reader: type, expectRecord: true });

    let bytes: Buffer[] = [];
    const confluentEncode = await rate(RECORDS, async () => {
      const out: Buffer[] = new Array(RECORDS);
      for (let i = 0; i < RECORDS; i++) out[i] = await serializer.serialize(TOPIC, values[i]);
      bytes = out;
    });
    const sluiceEncode = await rate(RECORDS, () => {
      const out: Buffer[] = new Array(RECORDS);
      for (let i = 0; i < RECORDS; i++) out[i] = encoder.encode(values[i]);
      bytes = out;
    });
    const avscEncode = await rate(RECORDS, () => {
      for (let i = 0; i < RECORDS; i++) type.toBuffer(values[i]);
    });
    const header = Buffer.alloc(5);
    header.writeUInt32BE(id, 1);
    if (bytes.length !== RECORDS || !bytes[0]!.equals(Buffer.concat([header, type.toBuffer(values[0])]))) throw new Error('sluice does not write the Confluent wire bytes');

    let sink = 0;
    const confluentDecode = await rate(RECORDS, async () => {
      for (let i = 0; i < RECORDS; i++) sink += ((await deserializer.deserialize(TOPIC, bytes[i]!)) as { id: number }).id;
    });
    const sluiceDecode = await rate(RECORDS, async () => {
      // A source decodes a batch at a time: one prepare (schema ids), then a synchronous loop.
      for (let i = 0; i < RECORDS; i += 1024) {
        const batch = bytes.slice(i, i + 1024);
        const p = decoder.prepare(batch);
        if (p) await p;
        for (const b of batch) sink += (decoder.decode(b) as { id: number }).id;
      }
    });
    const bodies = bytes.map((b) => b.subarray(5));
    const avscDecode = await rate(RECORDS, () => {
      for (let i = 0; i < RECORDS; i++) sink += (type.fromBuffer(bodies[i]!) as { id: number }).id;
    });
    if (!Number.isFinite(sink)) throw new Error('unreachable');

    const params = { records: RECORDS, fields: 10, bytes_per_record: bytes[0]!.length, reps: REPS, registry: 'MockClient (in memory, ids cached)' };
    const row = (metric: string, value: number, ceiling: { name: string; value: number }) =>
      result({ benchmark: 'avro-serde', name: 'avro-serde', mode: 'serde', metric, value: round(value), unit: 'records/s', ceiling: { name: ceiling.name, value: round(ceiling.value) }, params });
    return [
      row('encode_records_per_s', sluiceEncode, { name: 'Confluent AvroSerializer (ratio target ≥ 5)', value: confluentEncode }),
      row('decode_records_per_s', sluiceDecode, { name: 'Confluent AvroDeserializer (ratio target ≥ 5)', value: confluentDecode }),
      row('encode_records_per_s', sluiceEncode, { name: 'bare avsc toBuffer (no framing)', value: avscEncode }),
      row('decode_records_per_s', sluiceDecode, { name: 'bare avsc fromBuffer (no framing)', value: avscDecode }),
    ];
  },
};
