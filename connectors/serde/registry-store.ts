// Only the client file: the package root pulls in cloud key-management SDKs (~1 s to import).
import { SchemaRegistryClient, type Client } from '@confluentinc/schemaregistry/dist/schemaregistry-client.js';
import { SchemaLookupError, type SchemaStore } from './store.js';

/** How to reach a Confluent-compatible Schema Registry (Confluent, Karapace, Apicurio's ccompat API, AxonOps). */
export interface RegistryOptions {
  /** Base URL, e.g. http://127.0.0.1:8081. */
  url: string;
  /** HTTP basic auth (Confluent Cloud: the API key and secret). */
  username?: string | undefined;
  password?: string | undefined;
  /** Retries per request before a lookup fails. Default 2. */
  maxRetries?: number | undefined;
  /** First retry wait; doubles up to 2 s. Default 200. */
  retryWaitMs?: number | undefined;
  /** A client to use instead of making one from the options (shared with other code, or Confluent's MockClient). */
  client?: Client | undefined;
}

interface RestLikeError { status?: number; errorCode?: number; message: string }

/**
 * A SchemaStore over @confluentinc/schemaregistry's client, so sluice talks to the
 * registry exactly as Confluent's own serializers do (and gets its caches).
 */
export class RegistrySchemaStore implements SchemaStore {
  readonly where: string;
  private readonly client: Client;

  constructor(o: RegistryOptions) {
    this.where = `the schema registry at ${o.url}`;
    this.client = o.client ?? new SchemaRegistryClient({
      baseURLs: [o.url],
      maxRetries: o.maxRetries ?? 2,
      retriesWaitMs: o.retryWaitMs ?? 200,
      retriesMaxWaitMs: 2000,
      // A registry that does not answer must not hold a stream for the default 30+ s.
      createAxiosDefaults: { timeout: 10_000 },
      ...(o.username !== undefined ? { basicAuthCredentials: { credentialsSource: 'USER_INFO' as const, userInfo: `${o.username}:${o.password ?? ''}` } } : {}),
    });
  }

  async byId(id: number): Promise<string> {
    try {
      const info = await this.client.getBySubjectAndId('', id);
      if (info.schemaType && info.schemaType !== 'AVRO') throw new SchemaLookupError(`schema id ${id} in ${this.where} is a ${info.schemaType} schema, not Avro`, true);
      return info.schema;
    } catch (err) {
      throw this.wrap(err, `schema id ${id}`);
    }
  }

  async register(subject: string, schema: string): Promise<number> {
    try {
      return await this.client.register(subject, { schemaType: 'AVRO', schema }, false);
    } catch (err) {
      const e = err as RestLikeError;
      if (e.status === 409) throw new SchemaLookupError(`${this.where} refused the schema for subject "${subject}" as incompatible with its earlier versions (HTTP 409: ${e.message}); add new fields with defaults, or change the subject's compatibility level`, false);
      throw this.wrap(err, `registering subject "${subject}"`);
    }
  }

  async lookup(subject: string, schema: string): Promise<number | undefined> {
    try {
      return await this.client.getId(subject, { schemaType: 'AVRO', schema }, false);
    } catch (err) {
      const w = this.wrap(err, `looking up the schema under subject "${subject}"`);
      if (w.notFound) return undefined;
      throw w;
    }
  }

  async latest(subject: string): Promise<{ id: number; version: number; schema: string } | undefined> {
    try {
      const m = await this.client.getLatestSchemaMetadata(subject);
      return { id: m.id!, version: m.version!, schema: m.schema };
    } catch (err) {
      const w = this.wrap(err, `the latest version of subject "${subject}"`);
      if (w.notFound) return undefined;
      throw w;
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  private wrap(err: unknown, what: string): SchemaLookupError {
    if (err instanceof SchemaLookupError) return err;
    const e = err as RestLikeError;
    if (e.status === 404) return new SchemaLookupError(`${what}: not found in ${this.where} (${e.message})`, true);
    if (e.status !== undefined && e.status >= 400 && e.status < 500 && e.status !== 408 && e.status !== 429) {
      return new SchemaLookupError(`${what}: ${this.where} answered HTTP ${e.status}: ${e.message}`, false);
    }
    return new SchemaLookupError(`${what}: ${this.where} is unreachable or failing (${e.status ? `HTTP ${e.status}: ` : ''}${e.message})`, false);
  }
}
