import { EmbeddedLog } from '../../connectors/embedded/index.js';
import { systemClock, type Clock } from '../core/clock.js';
import { SluiceError, ensureError } from '../core/errors.js';
import { createLogger, type Logger } from '../core/logger.js';
import { createMetrics, type Metrics } from '../metrics/registry.js';
import { OPERATORS, operatorCatalog, type Operator, type ScoringModel } from '../operators/index.js';
import { createFileSink, createStdoutSink, createTopicSink, stageDeadLetters, Transaction, type Sink } from '../sinks/index.js';
import type { LoadedTopology } from '../topology/load.js';
import type { SinkConfig, SourceConfig, TopologyDefinition } from '../topology/schema.js';
import { validateTopology } from '../topology/validate.js';
import type { BatchOutput } from './batch.js';
import { OperatorChain } from './chain.js';
import { ensureTopics, loadModels, loadUdf, resolveDataDir } from './resources.js';
import { openFileSource } from './sources/file.js';
import type { SourcePartition } from './sources/source.js';
import { openTopicSource } from './sources/topic.js';
import { Task } from './task.js';
import { resolve } from 'node:path';

export interface JobOptions {
  /** Embedded log directory (overrides the topology's connection). */
  dataDir?: string;
  /** Stop when every source has nothing more to read, instead of waiting for new records. */
  untilIdle?: boolean;
  metrics?: Metrics;
  logger?: Logger;
  clock?: Clock;
  /** An embedded log already open in this process (one process holds a log directory); the job will not close it. */
  log?: EmbeddedLog;
  /** Models already loaded (shared with other jobs or the online server); the job will not close them. */
  models?: ReadonlyMap<string, ScoringModel>;
  /** Replaces named sources (the test harness feeds arrays this way). */
  sourceOverrides?: ReadonlyMap<string, SourcePartition[]>;
  /** Replaces named sinks. */
  sinkOverrides?: ReadonlyMap<string, Sink>;
}

export interface JobSummary {
  topology: string;
  status: 'completed' | 'stopped' | 'failed';
  error?: string;
  /** Records read from sources, including ones that failed to decode. */
  recordsIn: number;
  /** Records committed to sinks (dead letters excluded). */
  recordsOut: number;
  deadLettered: number;
  bySink: Record<string, number>;
  durationMs: number;
  recordsPerSecond: number;
}

/** Accepts a loaded file or a definition built in code (validated here either way). */
export function asLoaded(input: LoadedTopology | TopologyDefinition, baseDir = process.cwd()): LoadedTopology {
  if ('definition' in input) return input;
  return { definition: validateTopology(input, operatorCatalog), baseDir: resolve(baseDir) };
}

/** A running topology: one task per source partition, shared sinks and models. */
export class Job {
  readonly done: Promise<JobSummary>;
  private readonly controller = new AbortController();
  private readonly counts = { out: 0, dead: 0, bySink: {} as Record<string, number> };
  private failure: SluiceError | undefined;
  private stopRequested = false;

  private constructor(
    readonly definition: TopologyDefinition,
    private readonly tasks: Task[],
    private readonly sinks: Map<string, Sink>,
    private readonly log: EmbeddedLog | undefined,
    private readonly ownsLog: boolean,
    private readonly ownedModels: { close(): Promise<void> }[],
    private readonly logger: Logger,
    private readonly started: number,
  ) {
    this.done = this.runAll();
  }

  static async start(input: LoadedTopology | TopologyDefinition, opts: JobOptions = {}): Promise<Job> {
    const { definition: def, baseDir } = asLoaded(input);
    const clock = opts.clock ?? systemClock;
    const logger = opts.logger ?? createLogger(`job:${def.name}`);
    const metrics = opts.metrics ?? createMetrics();
    const batchSize = def.runtime?.batchSize ?? 1024;
    const needsLog = [...Object.entries(def.sources).filter(([n]) => !opts.sourceOverrides?.has(n)), ...Object.entries(def.sinks).filter(([n]) => !opts.sinkOverrides?.has(n))].some(([, c]) => c.type === 'topic');
    const ownsLog = needsLog && !opts.log;
    const log = opts.log ?? (needsLog ? await EmbeddedLog.open(resolveDataDir(def, baseDir, opts.dataDir)) : undefined);
    const owned: { close(): Promise<void> }[] = [];
    const cleanup = async (): Promise<void> => {
      await Promise.all(owned.map((m) => m.close()));
      if (ownsLog) await log?.close();
    };
    try {
      if (log && needsLog) await ensureTopics(def, log);
      let models: ReadonlyMap<string, ScoringModel> | undefined = opts.models;
      if (!models) {
        // Models batch on wall time: an injected (test) clock drives records and windows, not the batcher.
        const loaded = await loadModels(def, baseDir, { clock: systemClock, logger, metrics });
        owned.push(...loaded.values());
        models = loaded;
      }
      const sinks = new Map<string, Sink>();
      for (const [name, cfg] of Object.entries(def.sinks)) sinks.set(name, opts.sinkOverrides?.get(name) ?? (await openSink(name, cfg, log, baseDir)));
      const partitions: SourcePartition[] = [];
      for (const [name, cfg] of Object.entries(def.sources)) {
        partitions.push(...(opts.sourceOverrides?.get(name) ?? (await openSource(name, cfg, def, log, baseDir, batchSize, opts.untilIdle ?? false))));
      }
      const deps = { models, loadUdf: (m: string, e: string) => loadUdf(baseDir, m, e) };
      const job = new Job(def, [], sinks, log, ownsLog, owned, logger, clock.now());
      for (const part of partitions) {
        const ops: Operator[] = [];
        for (const [i, step] of def.pipeline.entries()) {
          const [kind, config] = Object.entries(step)[0] as [string, unknown];
          const id = (config as { id?: string } | null)?.id ?? `${kind}-${i}`;
          ops.push(await OPERATORS.get(kind)!.create(config as never, deps, id));
        }
        const chain = new OperatorChain(ops, { onError: def.onError ?? 'deadLetter', clock, metrics });
        await chain.open();
        job.tasks.push(
          new Task(part, chain, {
            batchSize,
            maxInFlight: def.runtime?.maxInFlight ?? 4,
            onError: def.onError ?? 'deadLetter',
            signal: job.controller.signal,
            metrics,
            commit: (src, out, next) => job.commitBatch(src, out, next),
          }),
        );
      }
      job.begin();
      return job;
    } catch (err) {
      await cleanup();
      throw err;
    }
  }

  /** Asks sources to stop, drains in-flight batches, flushes sinks and closes models. */
  async stop(): Promise<JobSummary> {
    this.stopRequested = true;
    this.controller.abort();
    const timeoutMs = this.definition.runtime?.shutdownTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
    const result = await Promise.race([this.done, timeout]);
    clearTimeout(timer);
    if (result === 'timeout') {
      this.logger.warn(`shutdown took longer than ${timeoutMs} ms; uncommitted batches will be read again on restart`);
      return this.summary('stopped');
    }
    return result;
  }

  private begin!: () => void;

  private async runAll(): Promise<JobSummary> {
    await new Promise<void>((r) => (this.begin = r));
    const results = await Promise.allSettled(
      this.tasks.map((t) =>
        t.run().catch((err: unknown) => {
          // One failed task stops the others: a job fails as a whole.
          this.failure ??= ensureError(err);
          this.controller.abort();
          throw err;
        }),
      ),
    );
    await Promise.allSettled(this.tasks.map((t) => t.chain.close()));
    await Promise.allSettled(this.tasks.map((t) => t.source.close()));
    await Promise.allSettled([...this.sinks.values()].map((s) => s.close()));
    await Promise.allSettled(this.ownedModels.map((m) => m.close()));
    if (this.ownsLog) await this.log?.close();
    const failed = results.some((r) => r.status === 'rejected');
    return this.summary(failed ? 'failed' : this.stopRequested ? 'stopped' : 'completed');
  }

  private summary(status: JobSummary['status']): JobSummary {
    const durationMs = Date.now() - this.started;
    const recordsIn = this.tasks.reduce((n, t) => n + t.recordsRead, 0);
    const s: JobSummary = {
      topology: this.definition.name,
      status,
      recordsIn,
      recordsOut: this.counts.out,
      deadLettered: this.counts.dead,
      bySink: { ...this.counts.bySink },
      durationMs,
      recordsPerSecond: durationMs > 0 ? Math.round((recordsIn / durationMs) * 1000) : 0,
    };
    if (this.failure) s.error = `${this.failure.code}: ${this.failure.message}`;
    return s;
  }

  /** One checkpoint: outputs, dead letters and the source position, committed together. */
  private async commitBatch(source: SourcePartition, out: BatchOutput, next: number): Promise<void> {
    const tx = new Transaction();
    for (const [name, records] of out.bySink) this.sinks.get(name)!.stage(records, tx);
    if (out.dead.length) {
      const dl = this.definition.deadLetter;
      if (!dl) throw new SluiceError('INTERNAL', 'a record was dead-lettered but the topology names no deadLetter sink');
      stageDeadLetters(this.sinks.get(dl)!, out.dead, tx);
    }
    const commit = source.commitFor(next);
    if (commit) tx.offsets.push(commit);
    await Promise.all(tx.pending);
    if (tx.appends.length || tx.offsets.length) {
      if (!this.log) throw new SluiceError('INTERNAL', 'a checkpoint has log writes but no embedded log is open');
      await this.log.commit({ appends: tx.appends, offsets: tx.offsets });
    }
    for (const [name, records] of out.bySink) {
      this.counts.out += records.length;
      this.counts.bySink[name] = (this.counts.bySink[name] ?? 0) + records.length;
    }
    this.counts.dead += out.dead.length;
  }
}

async function openSink(name: string, cfg: SinkConfig, log: EmbeddedLog | undefined, baseDir: string): Promise<Sink> {
  switch (cfg.type) {
    case 'topic':
      return createTopicSink(name, log!, cfg.topic);
    case 'file':
      return createFileSink(name, resolve(baseDir, cfg.path), cfg);
    case 'stdout':
      return createStdoutSink(name);
  }
}

async function openSource(name: string, cfg: SourceConfig, def: TopologyDefinition, log: EmbeddedLog | undefined, baseDir: string, batchSize: number, untilIdle: boolean): Promise<SourcePartition[]> {
  switch (cfg.type) {
    case 'topic':
      return openTopicSource({ name, log: log!, config: cfg, group: cfg.group ?? def.name, untilIdle });
    case 'file':
      return openFileSource(name, cfg, baseDir, batchSize);
  }
}
