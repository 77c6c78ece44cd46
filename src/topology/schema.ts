import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { OnlineConfigSchema } from './online-schema.js';

/**
 * The schema of a topology definition: the single source of its config types.
 * Operator step configs live beside their operators (src/operators/*) and are
 * checked by the validator through the operator registry.
 */

const Name = Type.String({ minLength: 1, pattern: '^[A-Za-z0-9._-]+$' });
const PositiveInt = Type.Integer({ minimum: 1 });

/** A replay bound: a named position, an offset (one for all partitions or one per partition), or a timestamp (epoch ms or ISO text). */
const Bound = Type.Union([
  Type.Literal('earliest'),
  Type.Literal('latest'),
  Type.Literal('committed'),
  Type.Object({ offset: Type.Union([Type.Integer({ minimum: 0 }), Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1 })]) }, { additionalProperties: false }),
  Type.Object({ timestamp: Type.Union([Type.Number(), Type.String({ minLength: 1 })]) }, { additionalProperties: false }),
]);

const SubjectStrategy = Type.Union([Type.Literal('topic'), Type.Literal('record'), Type.Literal('topic-record')]);

/** Avro options of a topic source (format: avro). */
const AvroSourceOptions = Type.Object(
  {
    /** The reader schema: a .avsc file, relative to the topology file. Each record's writer schema is resolved to it. */
    schema: Type.Optional(Type.String({ minLength: 1 })),
    /** Read with the latest schema of this subject (default: `<topic>-value` when it exists; else each writer's own schema). */
    subject: Type.Optional(Type.String({ minLength: 1 })),
    /** How subject names are made. Default topic. */
    subjectStrategy: Type.Optional(SubjectStrategy),
  },
  { additionalProperties: false },
);

/** Avro options of a topic sink (format: avro). */
const AvroSinkOptions = Type.Object(
  {
    /** The writer schema: a .avsc file, relative to the topology file. Default: derived from the input schema plus the fields the pipeline adds. */
    schema: Type.Optional(Type.String({ minLength: 1 })),
    /** The subject to register under (default: from subjectStrategy). */
    subject: Type.Optional(Type.String({ minLength: 1 })),
    /** How subject names are made. Default topic. */
    subjectStrategy: Type.Optional(SubjectStrategy),
    /** Register the writer schema when the subject lacks it. Default: connection.schemaRegistry.autoRegister (false with a registry, true with the embedded store). */
    autoRegister: Type.Optional(Type.Boolean()),
    /** Full name of a derived output record. Default: the input record's name + "Output". */
    recordName: Type.Optional(Type.String({ minLength: 1 })),
    /** With keyFormat avro: the key schema, a .avsc file. Default "string". */
    keySchema: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);

/** Avro options of a file source or sink (format: avro, object container files). */
const AvroFileOptions = Type.Object(
  {
    /** Source: the reader schema (.avsc) each file's schema is resolved to. Sink: the writer schema; default derived from the values. */
    schema: Type.Optional(Type.String({ minLength: 1 })),
    /** Sink: block compression. Default deflate. */
    codec: Type.Optional(Type.Union([Type.Literal('null'), Type.Literal('deflate')])),
    /** Sink: full name of a derived record. Default sluice.<sink name>. */
    recordName: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);

const KeyFormat = Type.Union([Type.Literal('string'), Type.Literal('avro')]);

export const ModelConfigSchema = Type.Object(
  {
    /** Path to the .onnx file, relative to the topology file. */
    path: Type.String({ minLength: 1 }),
    /** Execution providers in order of preference; GPU ones fall back to CPU. Default ['cpu']. */
    executionProviders: Type.Optional(Type.Array(Type.Union([Type.Literal('cpu'), Type.Literal('cuda'), Type.Literal('tensorrt')]), { minItems: 1 })),
    /** Worker threads, one session each. Default: the machine's core count. */
    workers: Type.Optional(PositiveInt),
    /** Threads per session. Default 1. */
    intraOpNumThreads: Type.Optional(PositiveInt),
    /** Rows per inference call. Default 1024. */
    maxBatchSize: Type.Optional(PositiveInt),
    /** How long a partial batch waits for more rows. Default 2 ms. */
    maxQueueDelayMs: Type.Optional(Type.Number({ minimum: 0 })),
    /** Rows that may wait in the model's queue. Default maxBatchSize × workers × 8. */
    maxQueueRows: Type.Optional(PositiveInt),
    /** While bulk work runs on the workers, online batches estimated to run within this many µs run on the main thread. Default 150 when served online (0: always workers). */
    inlineBudgetUs: Type.Optional(Type.Number({ minimum: 0 })),
  },
  { additionalProperties: false },
);

export const TopicSourceSchema = Type.Object(
  {
    type: Type.Literal('topic'),
    /** Topic name. */
    topic: Name,
    /** Partitions to create the topic with if it does not exist. Default 1. */
    partitions: Type.Optional(PositiveInt),
    /** Where to start when the consumer group has no committed position. Default earliest. */
    startFrom: Type.Optional(Type.Union([Type.Literal('earliest'), Type.Literal('latest')])),
    /** Consumer group whose positions are committed. Default: the topology name. */
    group: Type.Optional(Name),
    /** How record values are decoded: JSON text, or Avro on the Confluent wire format (schema registry). Default json. */
    format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('avro')])),
    /** format avro: the reader schema and subjects. */
    avro: Type.Optional(AvroSourceOptions),
    /** How record keys are decoded: UTF-8 text, or Avro (string keys as is, others as their JSON text). Default string. */
    keyFormat: Type.Optional(KeyFormat),
    /**
     * Makes the source bounded (a replay, for `sluice backfill`): from (default earliest,
     * or the group's committed position when it has one, so a rerun resumes) up to `to`
     * (exclusive; `latest` is the end when the job starts). `sluice run --from-backfill-end` ignores it.
     */
    bounded: Type.Optional(Type.Object({ from: Type.Optional(Bound), to: Bound }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);

export const FileSourceSchema = Type.Object(
  {
    type: Type.Literal('file'),
    /** A file, a directory, or a glob (`*` and `**`), relative to the topology file. */
    path: Type.String({ minLength: 1 }),
    format: Type.Union([Type.Literal('jsonl'), Type.Literal('csv'), Type.Literal('parquet'), Type.Literal('avro')]),
    /** format avro (object container files): the reader schema. */
    avro: Type.Optional(AvroFileOptions),
    /** Parquet only: read just these columns (default all). */
    columns: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })),
    /** CSV only: turn numeric-looking cells into numbers and empty cells into null. Default true. */
    inferTypes: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const SourceConfigSchema = Type.Union([TopicSourceSchema, FileSourceSchema]);

export const TopicSinkSchema = Type.Object(
  {
    type: Type.Literal('topic'),
    topic: Name,
    /** Partitions to create the topic with if it does not exist. Default 1. */
    partitions: Type.Optional(PositiveInt),
    /** How record values are written: JSON text, or Avro on the Confluent wire format (schema registry). Default json. */
    format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('avro')])),
    /** format avro: the writer schema, subject and registration. */
    avro: Type.Optional(AvroSinkOptions),
    /** How record keys are written: UTF-8 text, or Avro with avro.keySchema. Default string. */
    keyFormat: Type.Optional(KeyFormat),
  },
  { additionalProperties: false },
);

export const FileSinkSchema = Type.Object(
  {
    type: Type.Literal('file'),
    /** The directory that receives part files, relative to the topology file. */
    path: Type.String({ minLength: 1 }),
    format: Type.Union([Type.Literal('jsonl'), Type.Literal('csv'), Type.Literal('parquet'), Type.Literal('avro')]),
    /** format avro (object container files): the writer schema and block codec. */
    avro: Type.Optional(AvroFileOptions),
    /** CSV and Parquet: the columns, in order. Default: the fields of the first record. */
    columns: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })),
  },
  { additionalProperties: false },
);

export const StdoutSinkSchema = Type.Object({ type: Type.Literal('stdout') }, { additionalProperties: false });

export const SinkConfigSchema = Type.Union([TopicSinkSchema, FileSinkSchema, StdoutSinkSchema]);

export const RuntimeConfigSchema = Type.Object(
  {
    /** Most records per micro-batch read from a source. Default 1024. */
    batchSize: Type.Optional(PositiveInt),
    /** Micro-batches a task may have in flight (scoring overlaps with writing). Default 4. */
    maxInFlight: Type.Optional(PositiveInt),
    /** How often each task checkpoints (commits outputs and positions). Default 0 (every batch) without file sinks, 10000 with them (a part file per checkpoint), 100 on Kafka with exactlyOnce (a transaction per checkpoint). */
    checkpointIntervalMs: Type.Optional(Type.Integer({ minimum: 0 })),
    /** How long a graceful stop may take before in-flight work is abandoned (uncommitted). Default 10000. */
    shutdownTimeoutMs: Type.Optional(PositiveInt),
    /**
     * Kafka only: what a crash may do to outputs. `atLeastOnce` (default): an idempotent producer, offsets
     * committed after outputs are acknowledged; a crash may repeat the outputs of the last checkpoint.
     * `exactlyOnce`: each checkpoint is one Kafka transaction (outputs, changelogs, dead letters, offsets).
     */
    guarantee: Type.Optional(Type.Union([Type.Literal('atLeastOnce'), Type.Literal('exactlyOnce')])),
  },
  { additionalProperties: false },
);

/** SSL: `true` for the system's CAs, or files (relative to the file that names them). */
const SslSchema = Type.Union([
  Type.Boolean(),
  Type.Object(
    {
      ca: Type.Optional(Type.String({ minLength: 1 })),
      cert: Type.Optional(Type.String({ minLength: 1 })),
      key: Type.Optional(Type.String({ minLength: 1 })),
      /** Default true. */
      rejectUnauthorized: Type.Optional(Type.Boolean()),
    },
    { additionalProperties: false },
  ),
]);

/** A Kafka cluster: when present, topics live on Kafka instead of the embedded log. */
export const KafkaConnectionSchema = Type.Object(
  {
    /** Bootstrap brokers, host:port. */
    brokers: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
    /** Default: sluice-<topology name>. */
    clientId: Type.Optional(Type.String({ minLength: 1 })),
    sasl: Type.Optional(
      Type.Object(
        {
          mechanism: Type.Union([Type.Literal('plain'), Type.Literal('scram-sha-256'), Type.Literal('scram-sha-512')]),
          username: Type.String({ minLength: 1 }),
          password: Type.String(),
        },
        { additionalProperties: false },
      ),
    ),
    ssl: Type.Optional(SslSchema),
    /** Defaults for topics sluice creates: create missing ones (default true), with these partitions (default 1) and replication (default 1). */
    topics: Type.Optional(
      Type.Object(
        { create: Type.Optional(Type.Boolean()), partitions: Type.Optional(PositiveInt), replicationFactor: Type.Optional(PositiveInt) },
        { additionalProperties: false },
      ),
    ),
    /** Client retries: default 5 retries from 300 ms up to 30 s. */
    retry: Type.Optional(
      Type.Object(
        { retries: Type.Optional(Type.Integer({ minimum: 0 })), initialRetryTimeMs: Type.Optional(PositiveInt), maxRetryTimeMs: Type.Optional(PositiveInt) },
        { additionalProperties: false },
      ),
    ),
    /** Default 3000. */
    connectionTimeoutMs: Type.Optional(PositiveInt),
    /** Default 30000. */
    requestTimeoutMs: Type.Optional(PositiveInt),
  },
  { additionalProperties: false },
);

export const SchemaRegistrySchema = Type.Object(
  {
    url: Type.String({ minLength: 1 }),
    username: Type.Optional(Type.String()),
    password: Type.Optional(Type.String()),
    /** Sinks register their writer schemas when a subject lacks them. Default false here (a production registry); true with the embedded store. */
    autoRegister: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const ConnectionSchema = Type.Object(
  {
    /** Topics on a Kafka cluster; absent: the embedded log. */
    kafka: Type.Optional(KafkaConnectionSchema),
    /** The embedded log (the default when nothing else is configured). */
    embedded: Type.Optional(Type.Object({ dir: Type.Optional(Type.String({ minLength: 1 })) }, { additionalProperties: false })),
    /**
     * A Confluent-compatible Schema Registry for Avro topics (Confluent, Karapace, Apicurio's
     * ccompat API). Absent: SLUICE_SCHEMA_REGISTRY_URL, else schemas are kept beside the embedded log.
     */
    schemaRegistry: Type.Optional(SchemaRegistrySchema),
  },
  { additionalProperties: false },
);

/** A pipeline step: an object with exactly one key, the operator kind. */
export const StepSchema = Type.Record(Type.String(), Type.Unknown(), { minProperties: 1, maxProperties: 1 });

export const TopologySchema = Type.Object(
  {
    name: Name,
    connection: Type.Optional(ConnectionSchema),
    models: Type.Optional(Type.Record(Name, ModelConfigSchema)),
    sources: Type.Record(Name, SourceConfigSchema, { minProperties: 1 }),
    pipeline: Type.Array(StepSchema, { minItems: 1 }),
    sinks: Type.Record(Name, SinkConfigSchema, { minProperties: 1 }),
    /** The sink that receives dead letters (error envelopes). Required unless onError is fail. */
    deadLetter: Type.Optional(Name),
    /** What a bad record does: go to the dead-letter sink (default), or stop the job. */
    onError: Type.Optional(Type.Union([Type.Literal('deadLetter'), Type.Literal('fail')])),
    runtime: Type.Optional(RuntimeConfigSchema),
    /** How `sluice serve` answers HTTP requests (see src/topology/online-schema.ts). */
    online: Type.Optional(OnlineConfigSchema),
  },
  { additionalProperties: false },
);

export type ModelConfig = Static<typeof ModelConfigSchema>;
export type TopicSourceConfig = Static<typeof TopicSourceSchema>;
export type ReplayBound = Static<typeof Bound>;
export type FileSourceConfig = Static<typeof FileSourceSchema>;
export type SourceConfig = Static<typeof SourceConfigSchema>;
export type TopicSinkConfig = Static<typeof TopicSinkSchema>;
export type FileSinkConfig = Static<typeof FileSinkSchema>;
export type SinkConfig = Static<typeof SinkConfigSchema>;
export type RuntimeConfig = Static<typeof RuntimeConfigSchema>;
export type SchemaRegistryConfig = Static<typeof SchemaRegistrySchema>;
export type ConnectionConfig = Static<typeof ConnectionSchema>;
export type KafkaConnectionConfig = Static<typeof KafkaConnectionSchema>;
export type Step = Record<string, unknown>;
export type TopologyDefinition = Static<typeof TopologySchema>;

export type { TSchema };

/** The top level with sources, sinks and steps left open: those are checked one by one so errors stay precise. */
export const TopLevelSchema = Type.Object(
  {
    name: Name,
    connection: Type.Optional(ConnectionSchema),
    models: Type.Optional(Type.Record(Name, ModelConfigSchema)),
    sources: Type.Record(Type.String(), Type.Unknown(), { minProperties: 1 }),
    pipeline: Type.Array(Type.Unknown(), { minItems: 1 }),
    sinks: Type.Record(Type.String(), Type.Unknown(), { minProperties: 1 }),
    deadLetter: Type.Optional(Name),
    onError: Type.Optional(Type.Union([Type.Literal('deadLetter'), Type.Literal('fail')])),
    runtime: Type.Optional(RuntimeConfigSchema),
    /** How `sluice serve` answers HTTP requests (see src/topology/online-schema.ts). */
    online: Type.Optional(OnlineConfigSchema),
  },
  { additionalProperties: false },
);

export const SOURCE_SCHEMAS: Record<string, TSchema> = { topic: TopicSourceSchema, file: FileSourceSchema };
export const SINK_SCHEMAS: Record<string, TSchema> = { topic: TopicSinkSchema, file: FileSinkSchema, stdout: StdoutSinkSchema };

/** Adds the optional stable `id` every step config may carry. */
export function stepSchema<T extends Record<string, TSchema>>(properties: T) {
  return Type.Object({ id: Type.Optional(Name), ...properties }, { additionalProperties: false });
}
