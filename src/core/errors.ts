/**
 * The one error tree of sluice. Every error carries a stable `code` (listed in
 * ERROR_CODES with its HTTP status and what to do), a `retriable` flag that is the
 * only thing retry logic reads, and optional context (operator id, file, path).
 */
export const ERROR_CODES = {
  INVALID_TOPOLOGY: { status: 400, retriable: false, meaning: 'The topology file does not validate.', fix: 'Fix the file at the line and path the message names; run `sluice validate FILE`.' },
  INVALID_INPUT: { status: 400, retriable: false, meaning: 'A record or request does not have the shape the step needs.', fix: 'Send the fields the message names, with the types it names.' },
  EXPRESSION_ERROR: { status: 400, retriable: false, meaning: 'An expression failed to parse or to evaluate on a record.', fix: 'Check the expression and the record fields it reads.' },
  MISSING_FEATURE: { status: 400, retriable: false, meaning: 'A feature the model needs is absent from the record.', fix: 'Add the field upstream, or set `missing: { fill: N }` on the score step.' },
  NON_NUMERIC_FEATURE: { status: 400, retriable: false, meaning: 'A feature value is not a finite number, or is beyond float32\'s range (±3.4e38), which the model\'s input tensor holds.', fix: 'Convert the field with a map step, or fix the producer.' },
  DECODE_ERROR: { status: 400, retriable: false, meaning: 'A record\'s bytes could not be decoded in the declared format.', fix: 'Check the producer\'s format against the source\'s `format`.' },
  UNKNOWN_SCHEMA: { status: 400, retriable: false, meaning: 'A record names an Avro schema id the schema registry does not have, or the registry could not be reached to fetch it.', fix: 'Check that the producer and sluice use the same registry; records dead-lettered during a registry outage can be replayed once it is back.' },
  SCHEMA_MISMATCH: { status: 400, retriable: false, meaning: 'A record\'s writer schema cannot be resolved to the reader schema the source declares.', fix: 'Evolve the writer schema compatibly (new fields with defaults), or change the source\'s reader schema.' },
  SCHEMA_REGISTRY: { status: 503, retriable: true, meaning: 'The schema registry failed, could not be reached, or refused a schema (incompatible, or not registered with autoRegister off).', fix: 'Check the registry URL and its health; register the schema or set autoRegister: true; keep new fields optional with defaults.' },
  LATE_RECORD: { status: 400, retriable: false, meaning: 'A record arrived after its event-time window had closed (past the allowed lateness).', fix: 'Raise allowedLateness or maxOutOfOrderness on the window step, or route late records to a sink with `late:`.' },
  UDF_ERROR: { status: 500, retriable: false, meaning: 'A user-defined function threw.', fix: 'Read the message and fix the UDF module.' },
  MODEL_LOAD_FAILED: { status: 500, retriable: false, meaning: 'A model file could not be loaded as ONNX.', fix: 'Check the path and that the file is a valid .onnx model.' },
  MODEL_ERROR: { status: 500, retriable: false, meaning: 'The model failed on a batch, or returned NaN for a record (the message lists the features it was given).', fix: 'Check input shapes against the model\'s metadata; for NaN, the features\' range, or `allowNaN: true` on the score step.' },
  OVERLOADED: { status: 503, retriable: true, meaning: 'A bounded queue is full.', fix: 'Retry later with backoff, or add capacity.' },
  DEADLINE_EXCEEDED: { status: 504, retriable: true, meaning: 'The request\'s deadline passed before it was served.', fix: 'Retry with a longer deadline, or reduce load.' },
  TOO_MANY_REQUESTS: { status: 429, retriable: true, meaning: 'The online server shed the request: its queue (or the model\'s) is full.', fix: 'Retry after a short backoff, lower the request rate, or raise online.maxInFlight / the model\'s maxQueueRows.' },
  CANCELLED: { status: 499, retriable: true, meaning: 'The caller went away (the HTTP client disconnected) before the answer was ready.', fix: 'Nothing on the server; the client should keep the connection open until it has the answer.' },
  UNAUTHORIZED: { status: 401, retriable: false, meaning: 'The request carries no bearer token and the server requires one.', fix: 'Send `Authorization: Bearer <token>`.' },
  FORBIDDEN: { status: 403, retriable: false, meaning: 'The bearer token is not one the server accepts.', fix: 'Use a token listed in the topology\'s online.auth.tokens (or --token).' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retriable: false, meaning: 'The request body has a content type the server does not read.', fix: 'Send `Content-Type: application/json` (or, on /v2 infer, application/octet-stream with Triton\'s binary extension).' },
  PAYLOAD_TOO_LARGE: { status: 413, retriable: false, meaning: 'The request body is larger than the server\'s limit.', fix: 'Send fewer records or rows per request, or raise online.bodyLimit.' },
  SHUTTING_DOWN: { status: 503, retriable: true, meaning: 'The process is stopping.', fix: 'Retry against another instance.' },
  STATE_CORRUPT: { status: 500, retriable: false, meaning: 'Stored state cannot be read (corrupt, or written by an incompatible version or topology). A directory this process may not write is not reported as this but as STORAGE_ERROR.', fix: 'Rerun with --fresh (or delete the data directory) to start the state over.' },
  STORAGE_ERROR: { status: 500, retriable: true, meaning: 'The embedded log, the state store or a sink could not write (full disk, no permission, a sink folder that cannot be created); the message names the path.', fix: 'Free disk space or grant write access to the path named, then rerun the same command: it resumes from the last checkpoint. Check that no other process holds the data directory.' },
  KAFKA_UNAVAILABLE: { status: 503, retriable: true, meaning: 'The Kafka cluster could not be reached after the configured retries, or refused the credentials.', fix: 'Check connection.kafka (brokers, sasl, ssl) and that the brokers are up.' },
  KAFKA_FORBIDDEN: { status: 403, retriable: false, meaning: 'The Kafka cluster refused an operation on a topic or consumer group (an ACL, or a broker policy); the message names the topic or group and the operation.', fix: 'Grant the job\'s principal the ACL the message names (kafka-acls --add), or run it with a principal that has it.' },
  GROUP_ACTIVE: { status: 409, retriable: true, meaning: 'The job\'s Kafka consumer group has live members, so --fresh would delete offsets and state from under a running instance.', fix: 'Stop every instance of the job (a crashed one leaves the group after its session timeout), then run --fresh on one instance.' },
  NOT_FOUND: { status: 404, retriable: false, meaning: 'A named topic, model or file does not exist.', fix: 'Create it first, or fix the name.' },
  INTERNAL: { status: 500, retriable: false, meaning: 'A bug in sluice.', fix: 'Report it with the message and the topology.' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorContext {
  operator?: string;
  file?: string;
  line?: number;
  path?: string;
  [key: string]: unknown;
}

export class SluiceError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly context: ErrorContext;

  constructor(code: ErrorCode, message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SluiceError';
    this.code = code;
    this.retriable = ERROR_CODES[code].retriable;
    this.context = context;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}

/** Turns anything thrown into a SluiceError, keeping the original as `cause`. */
export function ensureError(err: unknown, code: ErrorCode = 'INTERNAL', context: ErrorContext = {}): SluiceError {
  if (err instanceof SluiceError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SluiceError(code, message, context, { cause: err });
}
