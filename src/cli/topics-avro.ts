import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import type avro from 'avsc';
import type { EmbeddedLog } from '../../connectors/embedded/index.js';
import { AvroDecoder, AvroEncoder, DecodeFailure, parseAvroSchema, subjectName } from '../../connectors/serde/index.js';
import { SluiceError } from '../core/errors.js';
import type { LogRecord } from '../core/record.js';
import { openSchemaContext, type SchemaContext } from '../runtime/serde.js';

/** What `sluice topics produce|consume --format avro` needs: where schemas live and which schema to use. */
export interface AvroCliOptions {
  /** A .avsc file: the writer schema (produce) or reader schema (consume). */
  schema?: string | undefined;
  /** A subject whose latest schema is used (default `<topic>-value`). */
  subject?: string | undefined;
  /** Registry URL (default SLUICE_SCHEMA_REGISTRY_URL; else the embedded store beside the log). */
  registry?: string | undefined;
}

async function context(log: EmbeddedLog, o: AvroCliOptions): Promise<SchemaContext> {
  return openSchemaContext(o.registry ? { connection: { schemaRegistry: { url: o.registry } } } : {}, log);
}

async function schemaFile(file: string): Promise<avro.Type> {
  const path = resolve(file);
  const text = await readFile(path, 'utf8').catch((err: Error) => {
    throw new SluiceError('INVALID_INPUT', `--schema: cannot read ${path}: ${err.message}`);
  });
  return parseAvroSchema(text, `--schema ${path}`);
}

/**
 * An encoder for `topics produce --format avro`: with --schema, the file's schema is
 * registered under the subject (the user asked for it by naming it); with only a subject,
 * its latest version is used as is.
 */
export async function cliAvroEncoder(log: EmbeddedLog, topic: string, o: AvroCliOptions): Promise<{ encoder: AvroEncoder; close(): Promise<void> }> {
  const ctx = await context(log, o);
  let type: avro.Type;
  if (o.schema) type = await schemaFile(o.schema);
  else {
    const subject = o.subject ?? subjectName('topic', topic, false, undefined);
    const latest = await ctx.store.latest(subject);
    if (!latest) throw new SluiceError('NOT_FOUND', `topics produce --format avro: subject "${subject}" has no schema in ${ctx.store.where}; pass --schema FILE.avsc`);
    type = parseAvroSchema(latest.schema, `subject "${subject}"`);
  }
  const encoder = new AvroEncoder({ store: ctx.store, schema: type, subject: () => o.subject ?? subjectName('topic', topic, false, type), autoRegister: o.schema !== undefined, where: `topics produce ${topic}` });
  await encoder.prepare([]);
  return { encoder, close: () => ctx.close() };
}

/** A decoder for `topics consume --format avro`: each record read with its writer's schema, or resolved to --schema / --subject's latest. */
export async function cliAvroDecoder(log: EmbeddedLog, o: AvroCliOptions): Promise<{ decode(values: (string | Buffer)[]): Promise<(unknown | DecodeFailure)[]>; close(): Promise<void> }> {
  const ctx = await context(log, o);
  let reader: avro.Type | undefined;
  if (o.schema) reader = await schemaFile(o.schema);
  else if (o.subject) {
    const latest = await ctx.store.latest(o.subject);
    if (!latest) throw new SluiceError('NOT_FOUND', `topics consume --format avro: subject "${o.subject}" has no schema in ${ctx.store.where}`);
    reader = parseAvroSchema(latest.schema, `subject "${o.subject}"`);
  }
  const d = new AvroDecoder({ store: ctx.store, reader, expectRecord: false });
  return {
    async decode(values) {
      await d.prepare(values);
      return values.map((v) => d.decode(v));
    },
    close: () => ctx.close(),
  };
}

/**
 * `topics produce --format avro`: JSON lines (one value per line) from a file or stdin, each
 * encoded with the Avro schema on the Confluent wire format, keyed by a field if asked. A line
 * that is not JSON or does not fit the schema stops the command, naming the line.
 */
export async function avroProduce(log: EmbeddedLog, topic: string, file: string | undefined, keyField: string | undefined, o: AvroCliOptions): Promise<number> {
  if (!log.topic(topic)) await log.createTopic(topic, 1);
  const { encoder, close } = await cliAvroEncoder(log, topic, o);
  try {
    const lines = createInterface({ input: file ? createReadStream(file, 'utf8') : process.stdin, crlfDelay: Infinity });
    let batch: LogRecord[] = [];
    let total = 0;
    let lineNo = 0;
    for await (const line of lines) {
      lineNo++;
      if (!line.trim()) continue;
      let value: Buffer;
      let key: string | null = null;
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        if (keyField) key = parsed[keyField] === undefined || parsed[keyField] === null ? null : String(parsed[keyField]);
        value = encoder.encode(parsed);
      } catch (err) {
        throw new SluiceError('INVALID_INPUT', `topics produce --format avro: line ${lineNo}: ${(err as Error).message}`);
      }
      batch.push({ key, value, timestamp: Date.now() });
      if (batch.length >= 1000) {
        await log.produce(topic, batch);
        total += batch.length;
        batch = [];
      }
    }
    if (batch.length) await log.produce(topic, batch);
    total += batch.length;
    process.stderr.write(`produced ${total} record(s) to ${topic} as Avro (schema id ${encoder.schemaId})\n`);
    return 0;
  } finally {
    await close();
  }
}

/** `topics consume --format avro`: each record decoded (writer's schema, or resolved to --schema / --subject), printed as JSON. */
export async function avroConsume(log: EmbeddedLog, topic: string, o: { offset: number; max: number; valuesOnly: boolean }, avroOpts: AvroCliOptions): Promise<number> {
  const info = log.requireTopic(topic);
  const dec = await cliAvroDecoder(log, avroOpts);
  try {
    let printed = 0;
    for (let p = 0; p < info.partitions && printed < o.max; p++) {
      let pos = Math.max(o.offset, log.startOffset(topic, p));
      const end = log.endOffset(topic, p);
      while (pos < end && printed < o.max) {
        const recs = await log.read(topic, p, pos, Math.min(1000, o.max - printed, end - pos));
        if (!recs.length) break;
        const values = await dec.decode(recs.map((r) => r.value));
        let text = '';
        for (const [i, r] of recs.entries()) {
          let value = values[i];
          if (value instanceof DecodeFailure) value = { error: value.reason, rawBase64: Buffer.isBuffer(r.value) ? r.value.toString('base64') : r.value };
          const key = Buffer.isBuffer(r.key) ? r.key.toString('base64') : r.key;
          text += (o.valuesOnly ? JSON.stringify(value) : JSON.stringify({ partition: p, offset: r.offset, key, timestamp: r.timestamp, value })) + '\n';
        }
        process.stdout.write(text);
        printed += recs.length;
        pos = recs[recs.length - 1]!.offset + 1;
      }
    }
    return 0;
  } finally {
    await dec.close();
  }
}
