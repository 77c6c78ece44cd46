import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type avro from 'avsc';
import type { EmbeddedLog } from '../../connectors/embedded/index.js';
import { AvroDecoder, AvroEncoder, DecodeFailure, parseAvroSchema, subjectName } from '../../connectors/serde/index.js';
import { SluiceError } from '../core/errors.js';
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
