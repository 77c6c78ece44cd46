// The public API of sluice. Each export is named on purpose; nothing is re-exported wholesale.
export { SluiceError, ERROR_CODES, ensureError } from './core/errors.js';
export type { ErrorCode } from './core/errors.js';
export { ManualClock, systemClock } from './core/clock.js';
export type { Clock } from './core/clock.js';
export type { StreamRecord, LogRecord, DeadLetter, SourcePosition } from './core/record.js';
export { createLogger } from './core/logger.js';
export type { Logger } from './core/logger.js';
export { createMetrics } from './metrics/registry.js';
export type { Metrics } from './metrics/registry.js';
export { topology, TopologyBuilder, loadTopologyFile, parseTopology, validateTopology, TopologyError } from './topology/index.js';
export type { TopologyDefinition, LoadedTopology } from './topology/index.js';
export { operatorCatalog } from './operators/index.js';
export type { Operator, OperatorContext } from './operators/index.js';
export { compileExpression } from './expr/index.js';
export type { Expression } from './expr/index.js';
export { ModelRunner } from './model/index.js';
export type { ModelOptions } from './model/index.js';
export { Job } from './runtime/job.js';
export type { JobOptions, JobSummary } from './runtime/job.js';
export { EmbeddedLog } from '../connectors/embedded/index.js';
export { createKafkaClient } from '../connectors/kafka/index.js';
export type { KafkaConnection } from '../connectors/kafka/index.js';
export {
  DecodeFailure, jsonValueDecoder, jsonValueEncoder, AvroDecoder, AvroEncoder, parseAvroSchema, deriveOutputSchema, subjectName,
  RegistrySchemaStore, EmbeddedSchemaStore, SchemaLookupError, schemaIdOf,
} from '../connectors/serde/index.js';
export type { ValueDecoder, ValueEncoder, KeyDecoder, KeyEncoder, SchemaStore, SubjectStrategy, RegistryOptions } from '../connectors/serde/index.js';
export { resolveConnection, loadConnectionFile, describeConnection } from './runtime/connection.js';
export type { ResolvedConnection } from './runtime/connection.js';
export { createOnlineService, loadAllModels } from './online/service.js';
export type { OnlineService, OnlineServiceOptions } from './online/service.js';
export { buildServer } from './online/server.js';
export type { OnlineServerOptions } from './online/server.js';
export { RequestPath } from './runtime/request-path.js';
export type { RecordAnswer, RecordError, RoutedRecord } from './runtime/request-path.js';
export { runTopology } from './testing/index.js';
export type { HarnessOptions, HarnessResult } from './testing/index.js';

import { loadTopologyFile as loadWithCatalog } from './topology/load.js';
import { operatorCatalog as catalog } from './operators/index.js';
import type { LoadOptions } from './topology/load.js';

/** Loads and validates a topology file with sluice's own operators. */
export function loadTopology(file: string, opts?: LoadOptions) {
  return loadWithCatalog(file, catalog, opts);
}
