import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import avro from 'avsc';
import { readAvroContainer } from '../../connectors/files/index.js';
import { memoryLogger } from '../../src/core/logger.js';
import { Job } from '../../src/runtime/job.js';
import type { TopologyDefinition } from '../../src/topology/schema.js';
import { FLIGHT_V1, FLIGHT_V2, flight, withLog } from './helpers.js';
import { writeFlightModel } from './model.js';

async function writeContainer(path: string, schema: object, values: unknown[]): Promise<void> {
  const enc = avro.createFileEncoder(path, avro.Type.forSchema(schema as avro.Schema));
  for (const v of values) enc.write(v);
  await new Promise<void>((r, j) => {
    enc.on('finish', () => setTimeout(r, 50)).on('error', j);
    enc.end();
  });
}

async function readAll(dir: string): Promise<{ files: string[]; rows: Record<string, unknown>[] }> {
  const files = (await readdir(dir)).sort();
  const rows: Record<string, unknown>[] = [];
  for (const f of files) for await (const b of readAvroContainer(join(dir, f), { batchSize: 100 })) for (const r of b.rows) if ('value' in r) rows.push({ ...r.value });
  return { files, rows };
}

test('Avro container files as a bounded source and a part-file sink: v1 and v2 files read as one reader schema, scored, written with a derived schema', { timeout: 60_000 }, async () => {
  await withLog(async (log, dir) => {
    const model = writeFlightModel(join(dir, 'models'));
    await writeContainer(join(dir, 'in-1.avro'), FLIGHT_V1, [flight(1), flight(2)]);
    await writeContainer(join(dir, 'in-2.avro'), FLIGHT_V2, [flight(3, { carrier: 'UA' })]);
    await writeFile(join(dir, 'reader.avsc'), JSON.stringify(FLIGHT_V2));
    const def = {
      name: 'avro-files',
      models: { flight: { path: model, workers: 1 } },
      sources: { flights: { type: 'file', path: join(dir, 'in-*.avro'), format: 'avro', avro: { schema: join(dir, 'reader.avsc') } } },
      pipeline: [{ score: { model: 'flight', features: ['distance', 'delay'], outputs: { p_delay: 'score[0]' } } }, { sink: 'out' }],
      sinks: { out: { type: 'file', path: join(dir, 'out'), format: 'avro', avro: { recordName: 'test.sluice.Scored' } }, dlq: { type: 'file', path: join(dir, 'dlq'), format: 'jsonl' } },
      deadLetter: 'dlq',
    } as TopologyDefinition;
    const s = await (await Job.start(def, { log, logger: memoryLogger() })).done;
    assert.equal(s.status, 'completed', s.error);
    assert.deepEqual({ in: s.recordsIn, out: s.recordsOut, dead: s.deadLettered }, { in: 3, out: 3, dead: 0 });
    const { files, rows } = await readAll(join(dir, 'out'));
    assert.ok(files.length >= 1 && files.every((f) => /^part-flights-\d{4}-\d{12}\.avro$/.test(f)), `finished parts only: ${files.join(', ')}`);
    assert.deepEqual(rows.map((r) => [r.id, r.carrier]).sort(), [[1, 'unknown'], [2, 'unknown'], [3, 'UA']]);
    for (const r of rows) assert.ok((r.p_delay as number) > 0 && (r.p_delay as number) < 1);
    // Each part carries its schema: the input's fields plus the optional score.
    const dec = avro.createFileDecoder(join(dir, 'out', files[0]!));
    const type = await new Promise<avro.Type>((r) => dec.on('metadata', r));
    dec.destroy();
    assert.equal(type.name, 'test.sluice.Scored');
    assert.deepEqual((type.schema() as { fields: { name: string }[] }).fields.map((f) => f.name), ['id', 'origin', 'distance', 'delay', 'carrier', 'p_delay']);

    // A rerun resumes at the committed positions: nothing new, nothing written twice.
    const again = await (await Job.start(def, { log, logger: memoryLogger() })).done;
    assert.equal(again.recordsIn, 0);
    assert.equal((await readAll(join(dir, 'out'))).rows.length, 3);
  });
});

test('a file that is not an Avro container fails the job with a message naming it', { timeout: 30_000 }, async () => {
  await withLog(async (log, dir) => {
    await writeFile(join(dir, 'broken.avro'), 'not avro at all');
    const def = {
      name: 'avro-bad-file',
      sources: { f: { type: 'file', path: join(dir, 'broken.avro'), format: 'avro' } },
      pipeline: [{ sink: 'out' }],
      sinks: { out: { type: 'stdout' } },
      onError: 'fail',
    } as TopologyDefinition;
    const s = await (await Job.start(def, { log, logger: memoryLogger() })).done;
    assert.equal(s.status, 'failed');
    assert.match(s.error!, /DECODE_ERROR: Avro file .*broken\.avro: cannot read it as an Avro object container file/);
  });
});
