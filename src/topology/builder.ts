import type { ModelConfig, RuntimeConfig, SinkConfig, SourceConfig, Step, TopologyDefinition } from './schema.js';

type StepConfig = Record<string, unknown>;

/**
 * Builds the same plain-data definition a topology file loads to:
 *
 *   topology('demo').source('events', { type: 'topic', topic: 'events' })
 *     .map({ set: { x: 'a * 2' } }).score({ model: 'mlp', features: ['x'] })
 *     .to('scored').sink('scored', { type: 'stdout' }).build()
 *
 * Validation happens where the definition is used (Job.start, runTopology).
 */
export class TopologyBuilder {
  private readonly def: { name: string; models: Record<string, ModelConfig>; sources: Record<string, SourceConfig>; pipeline: Step[]; sinks: Record<string, SinkConfig>; deadLetter?: string; onError?: 'deadLetter' | 'fail'; runtime?: RuntimeConfig; connection?: TopologyDefinition['connection'] };

  constructor(name: string) {
    this.def = { name, models: {}, sources: {}, pipeline: [], sinks: {} };
  }

  model(name: string, config: ModelConfig): this {
    this.def.models[name] = config;
    return this;
  }
  source(name: string, config: SourceConfig): this {
    this.def.sources[name] = config;
    return this;
  }
  sink(name: string, config: SinkConfig): this {
    this.def.sinks[name] = config;
    return this;
  }
  /** Appends any step by kind: `.step('map', {...})`. */
  step(kind: string, config: unknown): this {
    this.def.pipeline.push({ [kind]: config });
    return this;
  }
  map(config: StepConfig): this {
    return this.step('map', config);
  }
  filter(config: StepConfig): this {
    return this.step('filter', config);
  }
  flatMap(config: StepConfig): this {
    return this.step('flatMap', config);
  }
  keyBy(config: StepConfig): this {
    return this.step('keyBy', config);
  }
  score(config: StepConfig): this {
    return this.step('score', config);
  }
  route(config: StepConfig): this {
    return this.step('route', config);
  }
  /** Ends the pipeline in one sink. */
  to(sink: string): this {
    return this.step('sink', sink);
  }
  deadLetter(sink: string): this {
    this.def.deadLetter = sink;
    return this;
  }
  onError(mode: 'deadLetter' | 'fail'): this {
    this.def.onError = mode;
    return this;
  }
  runtime(config: RuntimeConfig): this {
    this.def.runtime = config;
    return this;
  }
  connection(config: NonNullable<TopologyDefinition['connection']>): this {
    this.def.connection = config;
    return this;
  }

  build(): TopologyDefinition {
    const d = structuredClone(this.def);
    if (!Object.keys(d.models).length) delete (d as { models?: unknown }).models;
    return d as TopologyDefinition;
  }
}

export function topology(name: string): TopologyBuilder {
  return new TopologyBuilder(name);
}
