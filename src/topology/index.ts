export { topology, TopologyBuilder } from './builder.js';
export { loadTopologyFile, parseTopology } from './load.js';
export type { LoadedTopology, LoadOptions } from './load.js';
export { validateTopology, topologyIssues } from './validate.js';
export { TopologyError, formatIssue, formatPath } from './issues.js';
export type { Issue, Locator } from './issues.js';
export type { StepCatalog, StepKind, CheckContext } from './catalog.js';
export type { TopologyDefinition, ModelConfig, SourceConfig, SinkConfig, RuntimeConfig, Step } from './schema.js';
