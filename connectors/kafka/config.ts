// Before kafkajs: replaces its read_committed filter (see read-committed-fix.ts), its per-partition grouping (partition-grouping-fix.ts)
// and its record encoder and decoder (record-encoding-fix.ts, record-decoding-fix.ts).
import './read-committed-fix.js';
import './partition-grouping-fix.js';
import './record-encoding-fix.js';
import './record-decoding-fix.js';
import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';

/**
 * A resolved Kafka connection profile: every default filled in, SSL files already read.
 * The topology schema (src/topology/schema.ts, `connection.kafka`) is what users write;
 * src/runtime/connection.ts turns that (or --connection FILE, or the environment) into this.
 */
export interface KafkaConnection {
  brokers: string[];
  /** Default: sluice-<topology name> (set by the resolver). */
  clientId: string;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  /** `true`: TLS with the system CAs; an object: PEM contents (not paths). */
  ssl?: boolean | { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean };
  /** Defaults for topics sluice creates. `create: false` makes a missing topic an error. */
  topics: { create: boolean; partitions: number; replicationFactor: number };
  retry: { retries: number; initialRetryTimeMs: number; maxRetryTimeMs: number };
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
}

export const KAFKA_DEFAULTS = {
  topics: { create: true, partitions: 1, replicationFactor: 1 },
  retry: { retries: 5, initialRetryTimeMs: 300, maxRetryTimeMs: 30_000 },
  connectionTimeoutMs: 3000,
  requestTimeoutMs: 30_000,
} as const;

/**
 * kafkajs's own log is off unless KAFKAJS_LOG_LEVEL names a level: it reports retriable broker
 * answers as errors while all is well; sluice logs the retries and failures it acts on itself.
 */
function kafkajsLogLevel(): logLevel {
  const name = (process.env.KAFKAJS_LOG_LEVEL ?? 'NOTHING').toUpperCase() as keyof typeof logLevel;
  return logLevel[name] ?? logLevel.NOTHING;
}

/** The kafkajs client options for a profile (exported for tests and for tools that build their own client). */
export function kafkaClientConfig(conn: KafkaConnection, clientId?: string): KafkaConfig {
  const cfg: KafkaConfig = {
    clientId: clientId ?? conn.clientId,
    brokers: conn.brokers,
    connectionTimeout: conn.connectionTimeoutMs,
    requestTimeout: conn.requestTimeoutMs,
    // kafkajs counts retries after the first attempt; its backoff doubles with jitter up to maxRetryTime.
    retry: { retries: conn.retry.retries, initialRetryTime: conn.retry.initialRetryTimeMs, maxRetryTime: conn.retry.maxRetryTimeMs },
    logLevel: kafkajsLogLevel(),
  };
  if (conn.sasl) cfg.sasl = { mechanism: conn.sasl.mechanism, username: conn.sasl.username, password: conn.sasl.password } as SASLOptions;
  if (conn.ssl !== undefined) cfg.ssl = conn.ssl;
  return cfg;
}

/** A kafkajs client with the profile's brokers, auth, retries and timeouts. */
export function createKafkaClient(conn: KafkaConnection, clientId?: string): Kafka {
  return new Kafka(kafkaClientConfig(conn, clientId));
}
