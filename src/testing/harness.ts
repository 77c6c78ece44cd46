import { ManualClock, type Clock } from '../core/clock.js';
import { memoryLogger } from '../core/logger.js';
import type { DeadLetter, StreamRecord } from '../core/record.js';
import { createMetrics, type Metrics } from '../metrics/registry.js';
import type { ScoringModel } from '../operators/index.js';
import { Job, asLoaded, type JobSummary } from '../runtime/job.js';
import { MemorySource, type MemoryInput } from '../runtime/sources/memory.js';
import { MemorySink } from '../sinks/index.js';
import type { LoadedTopology } from '../topology/load.js';
import type { TopologyDefinition } from '../topology/schema.js';

export interface HarnessOptions {
  clock?: Clock;
  /** Models to score with; without it the topology's model files are loaded. */
  models?: ReadonlyMap<string, ScoringModel>;
  /** Where relative paths in a definition built in code resolve. Default cwd. */
  baseDir?: string;
  metrics?: Metrics;
}

export interface HarnessResult {
  /** Record values per sink, in commit order (dead letters under the dead-letter sink too). */
  outputs: Record<string, Record<string, unknown>[]>;
  /** Whole records per sink (key, timestamp, headers, position). */
  records: Record<string, StreamRecord[]>;
  /** The envelopes sent to the dead-letter sink. */
  deadLetters: DeadLetter[];
  summary: JobSummary;
  metrics: Metrics;
  logLines: string[];
}

/**
 * Runs a topology to completion over in-memory inputs, one array per source, and
 * returns what every sink received. Sources and sinks are replaced; operators,
 * models and the runtime are the real ones.
 */
export async function runTopology(topology: TopologyDefinition | LoadedTopology, inputs: Record<string, MemoryInput[]>, opts: HarnessOptions = {}): Promise<HarnessResult> {
  const loaded = asLoaded(topology, opts.baseDir);
  const def = loaded.definition;
  const clock = opts.clock ?? new ManualClock(Date.UTC(2026, 0, 1));
  for (const name of Object.keys(def.sources)) {
    if (!inputs[name]) throw new Error(`runTopology: no input given for source "${name}" (sources: ${Object.keys(def.sources).join(', ')})`);
  }
  const sources = new Map(Object.keys(def.sources).map((name) => [name, [new MemorySource(name, inputs[name]!, () => clock.now())]]));
  const sinks = new Map(Object.keys(def.sinks).map((name) => [name, new MemorySink(name)]));
  const metrics = opts.metrics ?? createMetrics();
  const logger = memoryLogger();
  const job = await Job.start(loaded, { clock, metrics, logger, sourceOverrides: sources, sinkOverrides: sinks, untilIdle: true, ...(opts.models ? { models: opts.models } : {}) });
  const summary = await job.done;
  const records: Record<string, StreamRecord[]> = {};
  const outputs: Record<string, Record<string, unknown>[]> = {};
  for (const [name, sink] of sinks) {
    records[name] = sink.records;
    outputs[name] = sink.records.map((r) => r.value);
  }
  const deadLetters = def.deadLetter ? (outputs[def.deadLetter] ?? []).filter((v) => 'error' in v && 'position' in v).map((v) => v as unknown as DeadLetter) : [];
  return { outputs, records, deadLetters, summary, metrics, logLines: logger.lines };
}
