import { Type, type Static } from '@sinclair/typebox';

const Name = Type.String({ minLength: 1, pattern: '^[A-Za-z0-9._-]+$' });

/**
 * The `online:` section of a topology: how `sluice serve` (and `sluice run --serve`)
 * answers HTTP requests. Every field has a default, so the section may be left out.
 */
export const OnlineConfigSchema = Type.Object(
  {
    /** TCP port. Default 8080 (`--port` / `--serve PORT` win). 0 picks a free one. */
    port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
    /** Interface to listen on. Default 127.0.0.1. */
    host: Type.Optional(Type.String({ minLength: 1 })),
    /** Bearer tokens the server accepts; without it (or with an empty list) no auth is asked. */
    auth: Type.Optional(Type.Object({ tokens: Type.Array(Type.String({ minLength: 1 })) }, { additionalProperties: false })),
    /** Largest request body in bytes; larger ones get 413. Default 1 MiB. */
    bodyLimit: Type.Optional(Type.Integer({ minimum: 64 })),
    /** Requests being answered at once (queued or running); more get 429. Default 4096. */
    maxInFlight: Type.Optional(Type.Integer({ minimum: 1 })),
    /** Default per-request deadline in ms (a `timeout` parameter or the `sluice-timeout-ms` header overrides it). Default 1000. */
    deadlineMs: Type.Optional(Type.Integer({ minimum: 1 })),
    /** Model queue priority of online requests (batch and stream work runs at 0). Default 10. */
    priority: Type.Optional(Type.Integer()),
    /** How long a SIGTERM drain waits for requests in flight before closing anyway. Default 10000. */
    drainTimeoutMs: Type.Optional(Type.Integer({ minimum: 0 })),
    /**
     * What /v2 serves: a served name → its versions, each a model under `models:`.
     * Default: every topology model under its own name, as version "1". The unversioned
     * path serves the latest version (the highest number; versions are compared as
     * numbers when both are numeric, else as text).
     */
    models: Type.Optional(Type.Record(Name, Type.Object({ versions: Type.Record(Type.String({ minLength: 1, pattern: '^[A-Za-z0-9._-]+$' }), Name, { minProperties: 1 }) }, { additionalProperties: false }))),
    /**
     * Where the topology endpoint's records are answered: `direct` runs the request path
     * in this process (state read from this process's store); `bridge` sends them through
     * the request topic to the task that owns the key. Default direct.
     */
    mode: Type.Optional(Type.Union([Type.Literal('direct'), Type.Literal('bridge')])),
  },
  { additionalProperties: false },
);

export type OnlineConfig = Static<typeof OnlineConfigSchema>;
