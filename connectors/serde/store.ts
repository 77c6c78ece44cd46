/**
 * Where Avro schemas live: a Confluent-compatible Schema Registry, or (with none
 * configured) a store beside the embedded log that hands out ids the same way.
 * Codecs call these only when they meet a schema id or subject they have not seen;
 * the hot path never waits on a store.
 */
export interface SchemaStore {
  /** Names the store in messages (a URL, or "the embedded schema store"). */
  readonly where: string;
  /** The schema text with this id; rejects with a SchemaLookupError. */
  byId(id: number): Promise<string>;
  /** Registers the schema under the subject (or finds it there) and returns its id. */
  register(subject: string, schema: string): Promise<number>;
  /** The id of a schema already registered under the subject, or undefined (never registers). */
  lookup(subject: string, schema: string): Promise<number | undefined>;
  /** The subject's latest version, or undefined when the subject has none. */
  latest(subject: string): Promise<{ id: number; version: number; schema: string } | undefined>;
  close(): Promise<void>;
}

/** A failed schema lookup: `notFound` when the store answered that the id or subject does not exist. */
export class SchemaLookupError extends Error {
  constructor(message: string, readonly notFound: boolean) {
    super(message);
    this.name = 'SchemaLookupError';
  }
}
