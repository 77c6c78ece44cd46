import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type avro from 'avsc';
import type { EmbeddedLog } from '../../connectors/embedded/index.js';
import {
  avroKeyDecoder, avroKeyEncoder, avroValueDecoder, avroValueEncoder, deriveOutputSchema, EmbeddedSchemaStore, jsonValueDecoder, jsonValueEncoder,
  parseAvroSchema, RegistrySchemaStore, subjectName, type KeyDecoder, type KeyEncoder, type SchemaStore, type ValueDecoder, type ValueEncoder,
} from '../../connectors/serde/index.js';
import { SluiceError } from '../core/errors.js';
import type { FileSinkConfig, FileSourceConfig, SchemaRegistryConfig, TopicSinkConfig, TopicSourceConfig, TopologyDefinition } from '../topology/schema.js';

/** Where a job's Avro schemas live, and whether sinks register theirs by default. */
export interface SchemaContext {
  store: SchemaStore;
  autoRegister: boolean;
  /** Closes the store if this context owns it (a registry client); the embedded store lives with its log. */
  close(): Promise<void>;
}

/** The registry a topology uses: its connection block, else SLUICE_SCHEMA_REGISTRY_URL (+ _USERNAME, _PASSWORD), else none. */
export function registryConfig(def: Pick<TopologyDefinition, 'connection'>, env: NodeJS.ProcessEnv = process.env): SchemaRegistryConfig | undefined {
  const fromFile = def.connection?.schemaRegistry;
  if (fromFile) return fromFile;
  const url = env.SLUICE_SCHEMA_REGISTRY_URL;
  if (!url) return undefined;
  return {
    url,
    ...(env.SLUICE_SCHEMA_REGISTRY_USERNAME ? { username: env.SLUICE_SCHEMA_REGISTRY_USERNAME, password: env.SLUICE_SCHEMA_REGISTRY_PASSWORD ?? '' } : {}),
    ...(env.SLUICE_SCHEMA_REGISTRY_AUTO_REGISTER ? { autoRegister: env.SLUICE_SCHEMA_REGISTRY_AUTO_REGISTER === 'true' || env.SLUICE_SCHEMA_REGISTRY_AUTO_REGISTER === '1' } : {}),
  };
}

/**
 * The schema store for a topology: the configured registry (auto-registration off unless
 * asked for: a production registry's subjects are usually managed on purpose), or the
 * store beside the embedded log (auto-registration on: nobody else manages it).
 */
export async function openSchemaContext(def: Pick<TopologyDefinition, 'connection'>, log: EmbeddedLog | undefined, o: { registry?: SchemaRegistryConfig | undefined; onKafka?: boolean } = {}): Promise<SchemaContext> {
  const reg = o.registry ?? registryConfig(def);
  if (reg) {
    const store = new RegistrySchemaStore({ url: reg.url, username: reg.username, password: reg.password });
    return { store, autoRegister: reg.autoRegister ?? false, close: () => store.close() };
  }
  if (o.onKafka) {
    // Schemas beside a local log would make Kafka topic bytes unreadable for every other client.
    throw new SluiceError('INVALID_TOPOLOGY', 'Avro topics on Kafka need a schema registry: set connection.schemaRegistry.url (or SLUICE_SCHEMA_REGISTRY_URL)');
  }
  if (!log) throw new SluiceError('INVALID_TOPOLOGY', 'Avro topics need a schema registry (connection.schemaRegistry.url or SLUICE_SCHEMA_REGISTRY_URL) or the embedded log to keep schemas in');
  return { store: await EmbeddedSchemaStore.open(log), autoRegister: true, close: async () => {} };
}

/** Whether a topology reads or writes Avro topics (and so needs a schema store). */
export function usesAvroTopics(def: TopologyDefinition): boolean {
  return [...Object.values(def.sources), ...Object.values(def.sinks)].some((c) => c.type === 'topic' && (c.format === 'avro' || c.keyFormat === 'avro'));
}

async function readSchemaFile(baseDir: string, file: string, where: string): Promise<avro.Type> {
  const path = resolve(baseDir, file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new SluiceError('INVALID_TOPOLOGY', `${where}: cannot read the Avro schema file ${path}: ${(err as Error).message}`);
  }
  return parseAvroSchema(text, `${where} (${path})`);
}

export interface SourceCodecs {
  value: ValueDecoder;
  key?: KeyDecoder | undefined;
  /** The schema Avro values are read as (declared, or the subject's latest at start), if any. */
  reader?: avro.Type | undefined;
}

/** The decoders of a topic source: JSON, or Avro resolved to the declared (or latest) reader schema. */
export async function topicSourceCodecs(name: string, cfg: TopicSourceConfig, ctx: SchemaContext | undefined, baseDir: string): Promise<SourceCodecs> {
  const where = `source "${name}"`;
  let value: ValueDecoder = jsonValueDecoder;
  let reader: avro.Type | undefined;
  if (cfg.format === 'avro') {
    const store = ctx!.store;
    const o = cfg.avro ?? {};
    if (o.schema) reader = await readSchemaFile(baseDir, o.schema, `${where} avro.schema`);
    else if (o.subject || (o.subjectStrategy ?? 'topic') === 'topic') {
      const subject = o.subject ?? subjectName('topic', cfg.topic, false, undefined);
      const latest = await store.latest(subject).catch((err: Error) => {
        throw new SluiceError('SCHEMA_REGISTRY', `${where}: cannot read the latest schema of subject "${subject}": ${err.message}`);
      });
      if (latest) reader = parseAvroSchema(latest.schema, `${where}: subject "${subject}" version ${latest.version}`);
      else if (o.subject) throw new SluiceError('NOT_FOUND', `${where}: subject "${subject}" has no schema in ${store.where}`);
    }
    value = avroValueDecoder({ store, reader });
  }
  const key = cfg.keyFormat === 'avro' ? avroKeyDecoder({ store: ctx!.store }) : undefined;
  return { value, key, reader };
}

export interface SinkCodecs {
  value: ValueEncoder;
  key?: KeyEncoder | undefined;
}

/**
 * The encoders of a topic sink: JSON, or Avro with the declared writer schema or one
 * derived from `input` (the topology's Avro input schema) plus the fields the pipeline adds.
 */
export async function topicSinkCodecs(name: string, cfg: TopicSinkConfig, ctx: SchemaContext | undefined, baseDir: string, input: avro.Type | undefined): Promise<SinkCodecs> {
  const where = `sink "${name}"`;
  const o = cfg.avro ?? {};
  const strategy = o.subjectStrategy ?? 'topic';
  const autoRegister = o.autoRegister ?? ctx?.autoRegister ?? false;
  let value: ValueEncoder = jsonValueEncoder;
  if (cfg.format === 'avro') {
    const declared = o.schema ? await readSchemaFile(baseDir, o.schema, `${where} avro.schema`) : undefined;
    const recordName = o.recordName ?? (input?.name ? `${input.name}Output` : `sluice.${cfg.topic.replace(/[^A-Za-z0-9_]/g, '_')}`);
    const enc = avroValueEncoder({
      store: ctx!.store,
      schema: declared ?? ((sample) => deriveOutputSchema(input, sample, recordName)),
      subject: (t) => o.subject ?? subjectName(strategy, cfg.topic, false, t),
      autoRegister,
      where,
    });
    // A declared schema is registered (or found) now, so a refusal stops the job before it reads anything.
    if (declared) await enc.encoder.prepare([]);
    value = enc;
  }
  let key: KeyEncoder | undefined;
  if (cfg.keyFormat === 'avro') {
    const keyType = o.keySchema ? await readSchemaFile(baseDir, o.keySchema, `${where} avro.keySchema`) : parseAvroSchema('"string"', 'key');
    key = avroKeyEncoder({ store: ctx!.store, schema: keyType, subject: (t) => subjectName(t.name ? strategy : 'topic', cfg.topic, true, t), autoRegister, where: `${where} key` });
    await key.prepare?.([]);
  }
  return { value, key };
}

/** The schema of an Avro container-file sink: declared, or derived (like topic sinks) from the Avro input plus the added fields. */
export async function avroFileSchema(name: string, cfg: FileSinkConfig, baseDir: string, input: avro.Type | undefined): Promise<avro.Type | ((sample: readonly Record<string, unknown>[]) => avro.Type)> {
  if (cfg.avro?.schema) return readSchemaFile(baseDir, cfg.avro.schema, `sink "${name}" avro.schema`);
  const recordName = cfg.avro?.recordName ?? (input?.name ? `${input.name}Output` : `sluice.${name.replace(/[^A-Za-z0-9_]/g, '_')}`);
  return (sample) => deriveOutputSchema(input, sample, recordName);
}

/** The reader schema of an Avro container-file source, when it declares one. */
export async function avroFileReader(name: string, cfg: FileSourceConfig, baseDir: string): Promise<avro.Type | undefined> {
  return cfg.avro?.schema ? readSchemaFile(baseDir, cfg.avro.schema, `source "${name}" avro.schema`) : undefined;
}
