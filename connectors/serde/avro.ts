import avro from 'avsc';
import { SluiceError } from '../../src/core/errors.js';
import { DecodeFailure, type KeyDecoder, type KeyEncoder, type ValueDecoder, type ValueEncoder } from './codec.js';
import type { SchemaStore } from './store.js';
import { HEADER_BYTES, MAGIC_BYTE, schemaIdOf, writeHeader } from './wire.js';

// The schema each type was parsed from: avsc's own export drops attributes it does not
// interpret (logicalType without a registered implementation), which must survive registration.
const sources = new WeakMap<avro.Type, unknown>();

/** Parses Avro schema text (JSON) into an avsc type; `where` names its origin in errors. */
export function parseAvroSchema(text: string | object, where: string): avro.Type {
  let json: unknown;
  let type: avro.Type;
  try {
    json = typeof text === 'string' ? JSON.parse(text) : text;
    type = avro.Type.forSchema(json as avro.Schema);
  } catch (err) {
    throw new SluiceError('INVALID_TOPOLOGY', `${where}: not a valid Avro schema: ${(err as Error).message}`);
  }
  sources.set(type, json);
  return type;
}

/** The schema as JSON: as it was parsed (every attribute kept), else avsc's export with defaults and docs. */
export function schemaJson(type: avro.Type): unknown {
  return sources.get(type) ?? type.schema({ exportAttrs: true });
}

/** The schema text registries store for a type. */
export function schemaText(type: avro.Type): string {
  return JSON.stringify(schemaJson(type));
}

interface Reader { type: avro.Type; resolver: avro.Resolver | undefined }

export interface AvroDecoderOptions {
  store: SchemaStore;
  /**
   * The schema values are read as: each writer's schema is resolved to it (Avro schema
   * resolution: added fields take their defaults, removed ones are skipped). Undefined:
   * each record is read with its writer's own schema.
   */
  reader?: avro.Type | undefined;
  /** Values must be records (the engine's values are objects); keys may be any type. */
  expectRecord: boolean;
}

/**
 * Decodes Confluent-framed Avro. A schema id is fetched from the store once, when a batch
 * first carries it (prepare); its reader and resolver are cached for good, since ids are
 * immutable. Ids that could not be fetched are retried with the next batch that carries
 * them (the registry may be back); ids whose schema the reader cannot resolve are remembered.
 */
export class AvroDecoder {
  private readonly readers = new Map<number, Reader>();
  /** Ids that will never decode (their reason). */
  private readonly broken = new Map<number, string>();
  /** Ids that could not be fetched (their reason); asked for again by each batch that carries them. */
  private readonly missing = new Map<number, string>();

  constructor(private readonly o: AvroDecoderOptions) {}

  /** Fetches the schemas of ids the batch carries that are not known yet; undefined when there are none. */
  prepare(values: readonly (string | Buffer | null)[]): Promise<void> | undefined {
    // Not cleared per batch: the tasks of a source share this decoder and prepare concurrently.
    let wanted: Set<number> | undefined;
    for (const v of values) {
      if (v === null || typeof v === 'string' || v.length < HEADER_BYTES || v[0] !== MAGIC_BYTE) continue;
      const id = v.readUInt32BE(1);
      if (!this.readers.has(id) && !this.broken.has(id)) (wanted ??= new Set()).add(id);
    }
    if (!wanted) return undefined;
    return Promise.all([...wanted].map((id) => this.load(id))).then(() => undefined);
  }

  /** The decoded value, or why it does not decode. Call prepare on the batch first. */
  decode(raw: string | Buffer): unknown {
    if (typeof raw === 'string') return new DecodeFailure('a text value where Avro bytes on the Confluent wire format were expected (was it written as JSON?)');
    if (raw.length < HEADER_BYTES || raw[0] !== MAGIC_BYTE) return new DecodeFailure(schemaIdOf(raw) as string);
    const id = raw.readUInt32BE(1);
    const r = this.readers.get(id);
    if (r === undefined) return new DecodeFailure(this.broken.get(id) ?? this.missing.get(id) ?? `unknown schema id ${id}`, this.broken.has(id) ? 'SCHEMA_MISMATCH' : 'UNKNOWN_SCHEMA');
    let res: { value: unknown; offset: number };
    try {
      res = r.type.decode(raw, HEADER_BYTES, r.resolver);
    } catch (err) {
      return new DecodeFailure(`the bytes do not decode as Avro with writer schema id ${id}: ${(err as Error).message}`);
    }
    if (res.offset === raw.length) return res.value;
    return new DecodeFailure(res.offset < 0
      ? `the bytes do not decode as Avro with writer schema id ${id}: the value is truncated (${raw.length} bytes)`
      : `the bytes do not decode as Avro with writer schema id ${id}: ${raw.length - res.offset} bytes left over after the value`);
  }

  private async load(id: number): Promise<void> {
    let text: string;
    try {
      text = await this.o.store.byId(id);
    } catch (err) {
      this.missing.set(id, `unknown schema id ${id}: ${(err as Error).message}`);
      return;
    }
    this.missing.delete(id);
    let writer: avro.Type;
    try {
      writer = avro.Type.forSchema(JSON.parse(text) as avro.Schema);
    } catch (err) {
      this.broken.set(id, `writer schema id ${id} is not a usable Avro schema: ${(err as Error).message}`);
      return;
    }
    const reader = this.o.reader;
    const type = reader ?? writer;
    if (this.o.expectRecord && type.typeName !== 'record') {
      this.broken.set(id, `writer schema id ${id} is a ${writer.typeName}, not a record; sluice values are records`);
      return;
    }
    if (!reader || reader.equals(writer)) {
      this.readers.set(id, { type, resolver: undefined });
      return;
    }
    try {
      this.readers.set(id, { type: reader, resolver: reader.createResolver(writer) });
    } catch (err) {
      this.broken.set(id, `writer schema id ${id} cannot be resolved to the reader schema ${reader.name ?? reader.typeName}: ${(err as Error).message}`);
    }
  }
}

/** A ValueDecoder over AvroDecoder: values must decode to records. */
export function avroValueDecoder(o: Omit<AvroDecoderOptions, 'expectRecord'>): ValueDecoder {
  const d = new AvroDecoder({ ...o, expectRecord: true });
  return {
    prepare: (values) => d.prepare(values),
    decode: (raw) => d.decode(raw) as Record<string, unknown> | DecodeFailure,
  };
}

/** Avro keys become the engine's string keys: a string key as is, any other value as its JSON text. */
export function avroKeyDecoder(o: Omit<AvroDecoderOptions, 'expectRecord'>): KeyDecoder {
  const d = new AvroDecoder({ ...o, expectRecord: false });
  return {
    prepare: (keys) => d.prepare(keys),
    decode(raw) {
      if (raw === null) return null;
      const v = d.decode(raw);
      if (v instanceof DecodeFailure) return new DecodeFailure(`key: ${v.reason}`, v.code);
      return typeof v === 'string' ? v : JSON.stringify(v);
    },
  };
}

export interface AvroEncoderOptions {
  store: SchemaStore;
  /** The writer schema, or how to derive it from the first values staged (derived output schemas). */
  schema: avro.Type | ((sample: readonly unknown[]) => avro.Type);
  /** The subject a schema is registered (or looked up) under. */
  subject: (type: avro.Type) => string;
  /** Register the schema when the subject does not have it yet; otherwise it must be registered already. */
  autoRegister: boolean;
  /** Names the sink in errors. */
  where: string;
}

// One scratch buffer per process: encoding is synchronous. Values are copied out at their size.
let scratch = Buffer.allocUnsafe(64 * 1024);

/**
 * Encodes values as Confluent-framed Avro with one writer schema. Its id is resolved once
 * (registered or looked up, in prepare); encode is then synchronous: the 5-byte header
 * and avsc's binary encoding into a scratch buffer, copied out at its size.
 */
export class AvroEncoder {
  private type: avro.Type | undefined;
  private id = -1;
  /** With a derived schema, its field names: a field first seen after the derivation must not vanish quietly. */
  private derivedFields: Set<string> | undefined;
  /** The resolution in flight: tasks that share a sink stage concurrently, and must not derive and register twice. */
  private resolving: Promise<void> | undefined;

  constructor(private readonly o: AvroEncoderOptions) {}

  /** The writer schema's id once prepared, else undefined. */
  get schemaId(): number | undefined {
    return this.id < 0 ? undefined : this.id;
  }

  get writerType(): avro.Type | undefined {
    return this.type;
  }

  /** Resolves the writer schema's id (once); undefined when it is resolved already. */
  prepare(sample: readonly unknown[]): Promise<void> | undefined {
    if (this.id >= 0) return undefined;
    this.resolving ??= this.resolve(sample).finally(() => (this.resolving = undefined));
    return this.resolving;
  }

  private async resolve(sample: readonly unknown[]): Promise<void> {
    const type = typeof this.o.schema === 'function' ? this.o.schema(sample) : this.o.schema;
    const subject = this.o.subject(type);
    const text = schemaText(type);
    let id: number | undefined;
    try {
      id = this.o.autoRegister ? await this.o.store.register(subject, text) : await this.o.store.lookup(subject, text);
    } catch (err) {
      throw new SluiceError('SCHEMA_REGISTRY', `${this.o.where}: ${(err as Error).message}`, {}, { cause: err });
    }
    if (id === undefined) {
      throw new SluiceError('SCHEMA_REGISTRY', `${this.o.where}: the writer schema is not registered under subject "${subject}" in ${this.o.store.where}, and autoRegister is off; register it (schema: ${text}) or set autoRegister: true`);
    }
    this.type = type;
    this.id = id;
    if (typeof this.o.schema === 'function' && type instanceof avro.types.RecordType) this.derivedFields = new Set(type.fields.map((f) => f.name));
  }

  encode(value: unknown): Buffer {
    const type = this.type;
    if (type === undefined) throw new SluiceError('INTERNAL', `${this.o.where}: encode before prepare`);
    const known = this.derivedFields;
    if (known && typeof value === 'object' && value !== null) {
      // Own keys only: values decoded by avsc are Record instances whose prototype has methods (clone, …).
      for (const k of Object.keys(value)) {
        if (!known.has(k) && (value as Record<string, unknown>)[k] !== undefined) {
          throw new SluiceError('INVALID_INPUT', `${this.o.where}: field "${k}" is not in the output schema (id ${this.id}), which was derived from the first records written; declare the sink's avro.schema with every field it may carry`);
        }
      }
    }
    let end: number;
    try {
      end = type.encode(value, scratch, HEADER_BYTES);
      if (end < 0) {
        scratch = Buffer.allocUnsafe(Math.max(scratch.length * 2, scratch.length - end + HEADER_BYTES));
        end = type.encode(value, scratch, HEADER_BYTES);
      }
    } catch {
      throw new SluiceError('INVALID_INPUT', `${this.o.where}: a value does not fit the writer schema (id ${this.id}): ${invalidPaths(type, value)}`);
    }
    writeHeader(scratch, this.id);
    return Buffer.from(scratch.subarray(0, end));
  }
}

/** "field: value is not type" for each place a value breaks the schema. */
function invalidPaths(type: avro.Type, value: unknown): string {
  const out: string[] = [];
  type.isValid(value, { errorHook: (path, v, t) => out.push(`${path.join('.') || '(value)'}: ${JSON.stringify(v) ?? String(v)} is not ${JSON.stringify(t.schema())}`) });
  return out.slice(0, 5).join('; ') || 'avsc rejected it';
}

export function avroValueEncoder(o: AvroEncoderOptions): ValueEncoder & { readonly encoder: AvroEncoder } {
  const e = new AvroEncoder(o);
  return { encoder: e, prepare: (values) => e.prepare(values), encode: (v) => e.encode(v) };
}

/** Avro keys from the engine's string keys: as is for a string schema, else the key's JSON text parsed first. */
export function avroKeyEncoder(o: AvroEncoderOptions & { schema: avro.Type }): KeyEncoder {
  const e = new AvroEncoder(o);
  const asString = o.schema.typeName === 'string';
  return {
    prepare: (keys) => e.prepare(keys),
    encode(key) {
      if (key === null) return null;
      if (asString) return e.encode(key);
      let v: unknown;
      try {
        v = JSON.parse(key);
      } catch {
        throw new SluiceError('INVALID_INPUT', `${o.where}: key ${JSON.stringify(key)} is not the JSON text of a ${o.schema.typeName} (the key schema)`);
      }
      return e.encode(v);
    },
  };
}
