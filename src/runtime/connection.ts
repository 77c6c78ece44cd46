import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { KAFKA_DEFAULTS, type KafkaConnection } from '../../connectors/kafka/index.js';
import { SluiceError } from '../core/errors.js';
import { TopologyError } from '../topology/issues.js';
import { lineOf } from '../topology/load.js';
import { schemaIssues } from '../topology/schema-check.js';
import { ConnectionSchema, type ConnectionConfig, type KafkaConnectionConfig, type SchemaRegistryConfig, type TopologyDefinition } from '../topology/schema.js';

/** Where a job's topics live, after CLI flag > topology block > environment > embedded default. */
export type ResolvedConnection = (
  | { kind: 'kafka'; kafka: KafkaConnection; from: 'flag' | 'topology' | 'env'; /** Local state cache directory, from `embedded.dir` beside `kafka`. */ dir?: string }
  | { kind: 'embedded'; /** An explicit directory (already absolute), or undefined for the default. */ dir?: string; from: 'flag' | 'topology' | 'default' }
) & {
  /** The schema registry for Avro topics from the same place (flag file, else topology); the environment's SLUICE_SCHEMA_REGISTRY_URL is read where it is used. */
  schemaRegistry?: SchemaRegistryConfig;
};

/** A connection file: the same object as a topology's `connection:` block, with the directory its relative paths resolve against. */
export interface ConnectionFile {
  file: string;
  config: ConnectionConfig;
  baseDir: string;
}

/** Reads and validates a `--connection FILE` (YAML or JSON); errors name the file, line and path. */
export function loadConnectionFile(file: string): ConnectionFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SluiceError('NOT_FOUND', `cannot read connection file "${file}": ${(err as Error).message}`, { file });
  }
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) throw new SluiceError('INVALID_TOPOLOGY', `cannot parse connection file ${file}: ${doc.errors[0]!.message.split('\n')[0]}`, { file });
  const value: unknown = doc.toJS() ?? {};
  const issues = schemaIssues(ConnectionSchema, value, []);
  if (issues.length) throw new TopologyError(issues, file, (path) => lineOf(doc, lc, path));
  return { file, config: value as ConnectionConfig, baseDir: dirname(resolve(file)) };
}

export interface ResolveOptions {
  /** From `--connection FILE`: replaces the topology's block. */
  file?: ConnectionFile | undefined;
  /** Environment, default process.env. */
  env?: Record<string, string | undefined>;
}

/**
 * Resolves where a topology's topics live: `--connection FILE`, else the topology's
 * `connection:` block, else SLUICE_KAFKA_BROKERS (with SLUICE_KAFKA_SASL_MECHANISM,
 * SLUICE_KAFKA_USERNAME, SLUICE_KAFKA_PASSWORD, SLUICE_KAFKA_SSL=1), else the embedded log.
 */
export function resolveConnection(def: Pick<TopologyDefinition, 'name' | 'connection'>, baseDir: string, opts: ResolveOptions = {}): ResolvedConnection {
  const r = resolveTopics(def, baseDir, opts);
  const reg = opts.file?.config.schemaRegistry ?? def.connection?.schemaRegistry;
  return reg ? { ...r, schemaRegistry: reg } : r;
}

function resolveTopics(def: Pick<TopologyDefinition, 'name' | 'connection'>, baseDir: string, opts: ResolveOptions): ResolvedConnection {
  const env = opts.env ?? process.env;
  const clientId = `sluice-${def.name}`;
  const pick = (cfg: ConnectionConfig, dir: string, from: 'flag' | 'topology'): ResolvedConnection | undefined => {
    const local = cfg.embedded?.dir ? { dir: resolve(dir, cfg.embedded.dir) } : {};
    if (cfg.kafka) return { kind: 'kafka', kafka: kafkaFromConfig(cfg.kafka, dir, clientId), from, ...local };
    if (cfg.embedded) return { kind: 'embedded', from, ...local };
    return undefined;
  };
  if (opts.file) {
    const r = pick(opts.file.config, opts.file.baseDir, 'flag');
    if (r) return r;
  }
  if (def.connection) {
    const r = pick(def.connection, baseDir, 'topology');
    if (r) return r;
  }
  const brokers = env.SLUICE_KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter(Boolean);
  if (brokers?.length) {
    const local = def.connection?.embedded?.dir ? { dir: resolve(baseDir, def.connection.embedded.dir) } : {};
    return { kind: 'kafka', kafka: kafkaFromEnv(brokers, env, clientId), from: 'env', ...local };
  }
  return { kind: 'embedded', from: 'default' };
}

/** Fills in a `connection.kafka` block's defaults and reads its SSL files (relative to `baseDir`). */
export function kafkaFromConfig(cfg: KafkaConnectionConfig, baseDir: string, defaultClientId: string): KafkaConnection {
  const conn: KafkaConnection = {
    brokers: cfg.brokers,
    clientId: cfg.clientId ?? defaultClientId,
    topics: { ...KAFKA_DEFAULTS.topics, ...cfg.topics },
    retry: { ...KAFKA_DEFAULTS.retry, ...cfg.retry },
    connectionTimeoutMs: cfg.connectionTimeoutMs ?? KAFKA_DEFAULTS.connectionTimeoutMs,
    requestTimeoutMs: cfg.requestTimeoutMs ?? KAFKA_DEFAULTS.requestTimeoutMs,
  };
  if (cfg.sasl) conn.sasl = { ...cfg.sasl };
  if (typeof cfg.ssl === 'boolean') conn.ssl = cfg.ssl;
  else if (cfg.ssl) {
    const read = (what: string, p: string | undefined): string | undefined => {
      if (p === undefined) return undefined;
      const path = resolve(baseDir, p);
      try {
        return readFileSync(path, 'utf8');
      } catch (err) {
        throw new SluiceError('NOT_FOUND', `connection.kafka.ssl.${what}: cannot read "${path}": ${(err as Error).message}`);
      }
    };
    const ssl: { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean } = {};
    const ca = read('ca', cfg.ssl.ca);
    const cert = read('cert', cfg.ssl.cert);
    const key = read('key', cfg.ssl.key);
    if (ca !== undefined) ssl.ca = ca;
    if (cert !== undefined) ssl.cert = cert;
    if (key !== undefined) ssl.key = key;
    if (cfg.ssl.rejectUnauthorized !== undefined) ssl.rejectUnauthorized = cfg.ssl.rejectUnauthorized;
    conn.ssl = ssl;
  }
  return conn;
}

const MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;

function kafkaFromEnv(brokers: string[], env: Record<string, string | undefined>, clientId: string): KafkaConnection {
  const cfg: KafkaConnectionConfig = { brokers };
  const mech = env.SLUICE_KAFKA_SASL_MECHANISM?.toLowerCase();
  if (mech) {
    if (!(MECHANISMS as readonly string[]).includes(mech)) throw new SluiceError('INVALID_INPUT', `SLUICE_KAFKA_SASL_MECHANISM must be one of ${MECHANISMS.join(', ')}; got "${env.SLUICE_KAFKA_SASL_MECHANISM}"`);
    const username = env.SLUICE_KAFKA_USERNAME;
    if (!username) throw new SluiceError('INVALID_INPUT', 'SLUICE_KAFKA_SASL_MECHANISM is set but SLUICE_KAFKA_USERNAME is not');
    cfg.sasl = { mechanism: mech as (typeof MECHANISMS)[number], username, password: env.SLUICE_KAFKA_PASSWORD ?? '' };
  }
  if (env.SLUICE_KAFKA_SSL === '1' || env.SLUICE_KAFKA_SSL === 'true') cfg.ssl = true;
  return kafkaFromConfig(cfg, process.cwd(), clientId);
}

/** One line saying where topics live, for logs and `sluice validate`. */
export function describeConnection(c: ResolvedConnection): string {
  if (c.kind === 'kafka') {
    const auth = c.kafka.sasl ? `, SASL ${c.kafka.sasl.mechanism} as ${c.kafka.sasl.username}` : '';
    return `Kafka at ${c.kafka.brokers.join(',')} (client id ${c.kafka.clientId}${auth}${c.kafka.ssl ? ', TLS' : ''}; from ${c.from === 'flag' ? '--connection' : c.from === 'env' ? 'SLUICE_KAFKA_BROKERS' : 'the topology'})`;
  }
  return `the embedded log${c.dir ? ` in ${c.dir}` : ''}`;
}
