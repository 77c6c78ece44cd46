import { resolve } from 'node:path';
import { EmbeddedLog } from '../../connectors/embedded/index.js';
import { systemClock, type Clock } from '../core/clock.js';
import { SluiceError, ensureError } from '../core/errors.js';
import { createLogger, type Logger } from '../core/logger.js';
import { createMetrics, type Metrics } from '../metrics/registry.js';
import { OPERATORS, operatorCatalog, type Operator, type ScoringModel } from '../operators/index.js';
import { createFileSink, createKafkaTopicSink, createStdoutSink, createTopicSink, type Sink } from '../sinks/index.js';
import { IdempotentWriter } from '../../connectors/kafka/index.js';
import { KafkaCheckpointCommitter, changelogTopic } from './kafka-commit.js';
import { startOverOnKafka } from './kafka-fresh.js';
import type { LoadedTopology } from '../topology/load.js';
import type { SinkConfig, TopicSourceConfig, TopologyDefinition } from '../topology/schema.js';
import { validateTopology } from '../topology/validate.js';
import { STATEFUL_KINDS, planStages, type Stage } from '../topology/plan.js';
import { hopGroup, hopReader, kafkaHopSink, prepareKafkaHops } from './kafka-hops.js';
import { OperatorChain, type OperatorCounts } from './chain.js';
import { TaskCheckpointer, embeddedCommitter, type CheckpointCommitter, type CommitCounts } from './checkpoint.js';
import { KafkaTasks, type TaskRequestHandler } from './kafka-tasks.js';
import { kafkaError, openKafka, type KafkaSetup } from './kafka-setup.js';
import { KeyedStateBackend, MemoryStateStore, kvStateStore, type StateStore } from '../state/index.js';
import { recoverFileSinks } from './recovery.js';
import { resolveConnection, type ResolvedConnection } from './connection.js';
import { ensureTopics, loadModels, loadUdf, resolveDataDir } from './resources.js';
import { openFileSource } from './sources/file.js';
import type { SourcePartition } from './sources/source.js';
import { openTopicSource } from './sources/topic.js';
import { UpstreamGate } from './sources/repartition.js';
import { embeddedHops, maxSourcePartitions, refuseHopsOnKafka, refuseHopsWithoutLog } from './stages.js';
import { avroFileReader, avroFileSchema, openSchemaContext, topicSinkCodecs, topicSourceCodecs, usesAvroTopics, type SchemaContext, type SourceCodecs } from './serde.js';
import { Task, type TaskOptions } from './task.js';

export interface JobOptions {
  /** Embedded log directory (overrides the topology's connection); on Kafka, the local state cache. */
  dataDir?: string;
  /** Where topics live (see resolveConnection); default: resolved from the topology and the environment. */
  connection?: ResolvedConnection;
  /** An embedded log already open in this process (one process holds a log directory); the job will not close it. */
  log?: EmbeddedLog;
  /** Stop when every source has nothing more to read, instead of waiting for new records. */
  untilIdle?: boolean;
  /** Topic sources start at their group's committed positions and run live (after a backfill). */
  fromBackfillEnd?: boolean;
  /** Start over: ignore committed positions and delete the part files of the job's file sinks. */
  fresh?: boolean;
  metrics?: Metrics;
  logger?: Logger;
  clock?: Clock;
  /** Models already loaded (shared with other jobs or the online server); the job will not close them. */
  models?: ReadonlyMap<string, ScoringModel>;
  /** Replaces named sources (the test harness feeds arrays this way). */
  sourceOverrides?: ReadonlyMap<string, SourcePartition[]>;
  /** Replaces named sinks. */
  sinkOverrides?: ReadonlyMap<string, Sink>;
  /** On Kafka: the bridge's requests, answered by the tasks that own their keys, between their batches (see KafkaTasksOptions.requests). */
  requests?: TaskRequestHandler;
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
  /** Per step: records in, out and dead-lettered (processed, whether or not committed yet). */
  operators: Record<string, OperatorCounts>;
  durationMs: number;
  recordsPerSecond: number;
  /** The process's peak resident memory so far, in MiB. */
  peakRssMb: number;
  /**
   * Repartition hops (keyBy before keyed state over several partitions): records committed
   * to each internal topic and read back from it. They are internal: neither is counted in
   * recordsIn, recordsOut or bySink.
   */
  repartitioned?: Record<string, { written: number; read: number }>;
}

/** Accepts a loaded file or a definition built in code (validated here either way). */
export function asLoaded(input: LoadedTopology | TopologyDefinition, baseDir = process.cwd()): LoadedTopology {
  if ('definition' in input) return input;
  return { definition: validateTopology(input, operatorCatalog), baseDir: resolve(baseDir) };
}

interface Resources {
  log: EmbeddedLog | undefined;
  ownsLog: boolean;
  owned: { close(): Promise<void> }[];
}

/** A running topology: one task per source partition, shared sinks and models. */
export class Job {
  readonly done: Promise<JobSummary>;
  private readonly tasks: Task[] = [];
  /** The first `staticTasks` tasks are fixed at start (files, embedded topics); Kafka tasks come and go with assignments. */
  private staticTasks = 0;
  private kafka: KafkaTasks | undefined;
  /** On Kafka, the group-consumer tasks of each stage after a repartition hop. */
  private readonly kafkaHops: KafkaTasks[] = [];
  private readonly controller = new AbortController();
  private readonly counts: CommitCounts = { out: 0, dead: 0, bySink: {}, internal: {} };
  /** Tasks that read a repartition topic (not a source): their reads are not records in. */
  private readonly hopReaders = new Map<Task, string>();
  /** Tasks that write a repartition topic, and the gate its readers wait on. */
  private readonly hopWriters = new Map<Task, UpstreamGate>();
  private readonly opCounts = new Map<string, OperatorCounts>();
  /** Each task's stateful steps' backends (task → step id → backend), read by online requests. */
  private readonly liveState = new Map<string, Map<string, KeyedStateBackend>>();
  private failure: SluiceError | undefined;
  private stopRequested = false;
  private begin!: () => void;

  private constructor(
    readonly definition: TopologyDefinition,
    private readonly sinks: Map<string, Sink>,
    private readonly res: Resources,
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
    const connection = opts.connection ?? resolveConnection(def, baseDir);
    const onKafka = connection.kind === 'kafka';
    const realSources = Object.entries(def.sources).filter(([n]) => !opts.sourceOverrides?.has(n));
    const realSinks = Object.entries(def.sinks).filter(([n]) => !opts.sinkOverrides?.has(n));
    // Positions and checkpoints live in the embedded log, so any real source or file sink needs it; on Kafka it is the local state cache.
    const needsLog = onKafka || realSources.length > 0 || realSinks.some(([, c]) => c.type !== 'stdout');
    const res: Resources = { log: opts.log, ownsLog: false, owned: [] };
    if (!res.log && needsLog) {
      res.log = await EmbeddedLog.open(resolveDataDir(def, baseDir, opts.dataDir, connection.dir));
      res.ownsLog = true;
    }
    let kafka: KafkaSetup | undefined;
    try {
      const log = res.log;
      if (connection.kind === 'kafka') {
        kafka = await openKafka(def, connection.kafka, realSources.filter(([, c]) => c.type === 'topic').map(([n]) => n), realSinks.map(([n]) => n));
        res.owned.push({ close: () => kafka!.admin.disconnect() });
      } else if (log) await ensureTopics(def, log);
      let models = opts.models;
      if (!models) {
        // Models batch on wall time: an injected (test) clock drives records and windows, not the batcher.
        const loaded = await loadModels(def, baseDir, { clock: systemClock, logger, metrics });
        res.owned.push(...loaded.values());
        models = loaded;
      }
      const fileDirs = realSinks.flatMap(([sink, c]) => (c.type === 'file' ? [{ sink, dir: resolve(baseDir, c.path) }] : []));
      if (log && fileDirs.length) {
        const fixed = await recoverFileSinks(log, def.name, fileDirs, opts.fresh ?? false);
        if (fixed.rolledForward || fixed.removed) logger.info(`file sinks: ${fixed.rolledForward} committed part(s) published, ${fixed.removed} ${opts.fresh ? '' : 'uncommitted '}part(s) removed`);
      }
      // Avro topics: one schema store for the job; each source's reader schema is resolved once, here.
      const schemas = usesAvroTopics(def) ? await openSchemaContext(def, log, { registry: connection.schemaRegistry, onKafka }) : undefined;
      if (schemas) res.owned.push(schemas);
      const codecs = new Map<string, SourceCodecs>();
      const fileReaders = new Map<string, SourceCodecs['reader']>();
      for (const [name, cfg] of realSources) {
        if (cfg.type === 'topic') codecs.set(name, await topicSourceCodecs(name, cfg, schemas, baseDir));
        else if (cfg.format === 'avro') fileReaders.set(name, await avroFileReader(name, cfg, baseDir));
      }
      // Derived Avro output schemas start from the first Avro input's schema.
      const input = [...[...codecs.values()].map((c) => c.reader), ...fileReaders.values()].find((r) => r !== undefined);
      const topicOfSource = (n: string) => {
        const c = def.sources[n];
        return c?.type === 'topic' ? c.topic : undefined;
      };
      const sinks = new Map<string, Sink>();
      for (const [name, cfg] of Object.entries(def.sinks)) {
        const override = opts.sinkOverrides?.get(name);
        if (override) sinks.set(name, override);
        else if (kafka && cfg.type === 'topic') sinks.set(name, createKafkaTopicSink(name, cfg.topic, { codecs: await topicSinkCodecs(name, cfg, schemas, baseDir, input), topicOfSource }));
        else sinks.set(name, await openSink(name, cfg, log, baseDir, schemas, input));
      }
      const partitions: SourcePartition[] = [];
      for (const [name, cfg] of Object.entries(def.sources)) {
        const override = opts.sourceOverrides?.get(name);
        if (override) partitions.push(...override);
        else if (cfg.type === 'topic') {
          if (!kafka) partitions.push(...(await openTopicSource({ name, log: log!, config: cfg, group: cfg.group ?? def.name, untilIdle: opts.untilIdle ?? false, fromBackfillEnd: opts.fromBackfillEnd ?? false, fresh: opts.fresh ?? false, metrics, codecs: codecs.get(name)! })));
        } else partitions.push(...(await openFileSource({ name, config: cfg, baseDir, batchSize, log: opts.fresh ? undefined : log, job: def.name, avroReader: fileReaders.get(name) })));
      }
      if (log && opts.fresh) {
        for (const prefix of [`state/${def.name}/`, `pos/${def.name}/`, `parts/${def.name}/`, `clpos/${def.name}/`]) await log.deleteKvPrefix(prefix);
      }
      // Keyed state after a keyBy over several partitions reads through a repartition topic (topology/plan.ts).
      const kafkaPartitions = kafka?.sources.reduce((n, s) => n + s.partitions, 0) ?? 0;
      const stages = planStages(def.name, def.pipeline, partitions.length + kafkaPartitions, Math.max(maxSourcePartitions(partitions), ...(kafka?.sources.map((s) => s.partitions) ?? [])));
      if (kafka && opts.fresh) {
        // Before any task starts: the group's offsets, the hops and the changelogs go, so nothing of the old run is read back (kafka-fresh.ts).
        const group = kafka.sources.length ? groupOf(def, kafka.sources.map((s) => s.config)) : def.name;
        const hopsOut = stages.flatMap((st) => (st.output ? [st.output] : []));
        const stateful = new Set([...kafka.statefulSteps, ...stages.flatMap(statefulIds)]);
        await startOverOnKafka(kafka.kafka, kafka.admin, {
          group: { id: group, topics: [...kafka.sources.map((s) => s.config.topic), ...(opts.requests ? [opts.requests.topic] : [])] },
          hopGroups: hopsOut.map((h) => hopGroup(group, h)),
          hopTopics: hopsOut.map((h) => h.topic),
          changelogs: [...stateful].map((id) => changelogTopic(def.name, id)),
        }, logger);
        logger.info(`--fresh: cleared the local state cache of "${def.name}" in ${log?.dir ?? 'memory'}`);
      }
      if (kafka && stages.length > 1) {
        if (partitions.length) refuseHopsOnKafka(stages);
        // Bridge requests are read by the tasks of the input's partitions; after a hop the key's state lives in other tasks.
        if (opts.requests) throw new SluiceError('INVALID_TOPOLOGY', `the request-reply bridge cannot answer from state kept after a repartition hop (${stages[0]!.output?.topic ?? 'repartition'}) yet: produce the input keyed by the state's key (so no hop is needed), or serve this topology from the embedded log with run --serve`);
        const bounded = (opts.untilIdle ?? false) || (!opts.fromBackfillEnd && kafka.sources.every((s) => s.config.bounded));
        await prepareKafkaHops(kafka.admin, def.name, stages, { bounded, fresh: opts.fresh ?? false });
      } else if (!log) refuseHopsWithoutLog(stages, partitions.length);
      const hops = log && !kafka ? embeddedHops(log) : undefined;
      await hops?.prepare(stages, opts.fresh ?? false);
      for (const st of stages) if (st.output) sinks.set(st.output.sink, kafka ? kafkaHopSink(st.output) : hops!.sink(st.output));
      const hopSinks = new Set(stages.flatMap((st) => (st.output ? [st.output.sink] : [])));
      // Keyed state lives in the embedded log's kv space and commits with each checkpoint; without a log (the test harness), in memory.
      const memoryState = log ? undefined : new MemoryStateStore();
      const stateStore: StateStore = log ? kvStateStore(log) : memoryState!;
      const job = new Job(def, sinks, res, logger, clock.now());
      const onError = def.onError ?? 'deadLetter';
      // A Kafka transaction per batch would cost more than the batch: exactlyOnce checkpoints every 100 ms by default (as Kafka Streams commits).
      const exactlyOnceKafka = kafka !== undefined && def.runtime?.guarantee === 'exactlyOnce';
      const intervalMs = def.runtime?.checkpointIntervalMs ?? (fileDirs.length ? 10_000 : exactlyOnceKafka ? 100 : 0);
      const buildTask = async (part: SourcePartition, committer: CheckpointCommitter, signal: AbortSignal, stage: Stage = stages[0]!, upstreams?: readonly string[], requests?: TaskOptions['requests']): Promise<Task> => {
        const task = `${part.source}-${part.partition}`;
        const backends = new Map<string, KeyedStateBackend>();
        job.liveState.set(task, backends);
        const deps = {
          models: models!,
          loadUdf: (m: string, e: string) => loadUdf(baseDir, m, e),
          ...(upstreams ? { upstreams } : {}),
          state: (opId: string) => {
            const b = new KeyedStateBackend(stateStore, { namespace: `state/${def.name}/${task}/${opId}/`, clock });
            backends.set(opId, b);
            return b;
          },
        };
        const ops: Operator[] = [];
        for (const step of stage.steps) ops.push(await OPERATORS.get(step.kind)!.create(step.config as never, deps, step.id));
        // After a batch's state writes commit, its backend may let go of them (see KeyedStateBackend.markCommitted).
        const stateCommitted = (opId: string): (() => void) | undefined => {
          const b = backends.get(opId);
          if (!b) return undefined;
          const seq = b.lastDrain;
          return () => b.markCommitted(seq);
        };
        const chain = new OperatorChain(ops, { onError, clock, metrics, counts: job.opCounts, stateCommitted });
        await chain.open();
        const checkpointer = new TaskCheckpointer({ job: def.name, task, source: part, sinks, deadLetter: def.deadLetter, committer, intervalMs, clock, metrics, counts: job.counts, internalSinks: hopSinks, logger });
        return new Task(part, chain, { batchSize, clock, maxInFlight: def.runtime?.maxInFlight ?? 4, onError, signal, metrics, checkpointer, requests });
      };
      // Files read into Kafka topics: those records are produced (idempotent, acknowledged) before the checkpoint's local write.
      let staticCommitter: (task: string, partition: number) => CheckpointCommitter = () => embeddedCommitter(log, memoryState);
      if (kafka && partitions.length && realSinks.some(([, c]) => c.type === 'topic')) {
        const writer = new IdempotentWriter(kafka.kafka);
        await writer.connect().catch((err: unknown) => Promise.reject(kafkaError(err)));
        res.owned.push({ close: () => writer.close() });
        const conn = (connection as Extract<ResolvedConnection, { kind: 'kafka' }>).kafka;
        const retry = { attempts: Math.max(5, conn.retry.retries + 1), initialMs: conn.retry.initialRetryTimeMs, maxMs: 10_000 };
        staticCommitter = (task, partition) => new KafkaCheckpointCommitter({ guarantee: 'atLeastOnce', topology: def.name, group: def.name, task, partition, idempotent: { writer }, log: log!, retry, logger, metrics });
      }
      // Embedded hops: each stage's tasks are made at start; a stage after a hop reads its partitions (stages.ts).
      let stageInput = partitions;
      let upstreams: string[] | undefined;
      for (const stage of stages) {
        const gate = stage.output ? new UpstreamGate(stageInput.map((p) => `${p.source}-${p.partition}`)) : undefined;
        for (const part of stageInput) {
          const committer = stage.input ? embeddedCommitter(log, memoryState) : staticCommitter(`${part.source}-${part.partition}`, part.partition);
          const t = await buildTask(part, committer, job.controller.signal, stage, upstreams);
          job.tasks.push(t);
          if (stage.input) job.hopReaders.set(t, stage.input.topic);
          if (gate) job.hopWriters.set(t, gate);
        }
        if (stage.output && gate) {
          // A record's upstream is its path through the hops (see createRepartitionSink).
          upstreams = upstreams ? upstreams.flatMap((path) => gate.upstreams.map((t) => `${path}>${t}`)) : gate.upstreams.slice();
          if (!hops) break; // on Kafka, the stages after a hop are group-consumer tasks (below)
          stageInput = await hops!.open(stage.output, def.name, gate);
        }
      }
      job.staticTasks = job.tasks.length;
      if (kafka?.sources.length) {
        const k = kafka;
        job.kafka = new KafkaTasks({
          kafka: k.kafka,
          conn: (connection as Extract<ResolvedConnection, { kind: 'kafka' }>).kafka,
          admin: k.admin,
          topology: def.name,
          group: groupOf(def, k.sources.map((s) => s.config)),
          sources: k.sources.map((s) => ({ ...s, codecs: codecs.get(s.name) })),
          guarantee: def.runtime?.guarantee ?? 'atLeastOnce',
          statefulSteps: stages.length > 1 ? statefulIds(stages[0]!) : k.statefulSteps,
          log: log!,
          untilIdle: opts.untilIdle ?? false,
          fromBackfillEnd: opts.fromBackfillEnd ?? false,
          // No --fresh here: it already removed the group's offsets and the changelogs' keys (above), so the tasks start as on a
          // first run, and a partition this instance takes over later from another one resumes from that one's commits.
          logger,
          metrics,
          requests: opts.requests,
          buildTask: (part, committer, signal, requests) => buildTask(part, committer, signal, stages[0]!, undefined, requests),
          onTask: (t) => job.tasks.push(t),
        });
        job.controller.signal.addEventListener('abort', () => job.kafka!.stop(), { once: true });
        try {
          await job.kafka.start();
        } catch (err) {
          await job.kafka.close();
          throw kafkaError(err);
        }
        // Each stage after a hop: tasks per assigned partition of the hop topic, in a group of its own (kafka-hops.ts).
        const conn = (connection as Extract<ResolvedConnection, { kind: 'kafka' }>).kafka;
        let paths = k.sources.flatMap((s) => Array.from({ length: s.partitions }, (_, p) => `${s.name}-${p}`));
        for (const stage of stages.slice(1)) {
          const hop = stage.input!;
          const upstreamPaths = paths;
          const tasks = new KafkaTasks({
            kafka: k.kafka,
            conn,
            admin: k.admin,
            topology: def.name,
            group: hopGroup(groupOf(def, k.sources.map((s) => s.config)), hop),
            sources: [{ name: hop.topic, config: { type: 'topic', topic: hop.topic }, partitions: hop.partitions }],
            guarantee: def.runtime?.guarantee ?? 'atLeastOnce',
            statefulSteps: statefulIds(stage),
            log: log!,
            untilIdle: false,
            fromBackfillEnd: false,
            logger,
            metrics,
            buildTask: (part, committer, signal) => buildTask(hopReader(part), committer, signal, stage, upstreamPaths),
            onTask: (t) => {
              job.tasks.push(t);
              job.hopReaders.set(t, hop.topic);
            },
          });
          job.kafkaHops.push(tasks);
          job.controller.signal.addEventListener('abort', () => tasks.stop(), { once: true });
          try {
            await tasks.start();
          } catch (err) {
            await tasks.close();
            throw kafkaError(err);
          }
          paths = paths.flatMap((path) => Array.from({ length: hop.partitions }, (_, p) => `${path}>${hop.topic}-${p}`));
        }
      }
      job.begin();
      return job;
    } catch (err) {
      await Promise.all(res.owned.map((m) => m.close()));
      if (res.ownsLog) await res.log?.close();
      throw err;
    }
  }

  /** Asks sources to stop, drains in-flight batches, commits, flushes sinks and closes models. */
  async stop(): Promise<JobSummary> {
    this.stopRequested = true;
    this.controller.abort();
    this.kafka?.stop();
    for (const k of this.kafkaHops) k.stop();
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

  /** Bounded sources' progress, summed per unit (rows, records, bytes). */
  progress(): { done: number; total: number; unit: string }[] {
    const byUnit = new Map<string, { done: number; total: number; unit: string }>();
    for (const t of this.tasks) {
      if (this.hopReaders.has(t)) continue;
      const p = t.source.progress?.();
      if (!p) continue;
      const acc = byUnit.get(p.unit) ?? { done: 0, total: 0, unit: p.unit };
      acc.done += p.done;
      acc.total += p.total;
      byUnit.set(p.unit, acc);
    }
    return [...byUnit.values()];
  }

  /**
   * Whether the job is processing: at least one task runs. Kafka tasks are made only after
   * their partition's state has been restored from its changelog, so the online server's
   * readiness waits for this.
   */
  hasTasks(): boolean {
    return this.tasks.length > 0;
  }

  /**
   * The live state backend of step `opId` in task `task` (`<source>-<partition>`), for
   * read-only views that must see changes not committed yet (online requests).
   */
  stateBackend(task: string, opId: string): KeyedStateBackend | undefined {
    return this.liveState.get(task)?.get(opId);
  }

  /** Records read so far (for progress lines). */
  recordsRead(): number {
    return this.tasks.reduce((n, t) => n + (this.hopReaders.has(t) ? 0 : t.recordsRead), 0);
  }

  private async runAll(): Promise<JobSummary> {
    await new Promise<void>((r) => (this.begin = r));
    const staticTasks = this.tasks.slice(0, this.staticTasks);
    const onFailure = (err: unknown) => {
      // One failed task stops the others: a job fails as a whole.
      this.failure ??= ensureError(err);
      this.controller.abort();
      throw err;
    };
    // A task that writes a repartition topic tells its readers when it has finished (bounded runs).
    const results = await Promise.allSettled([...staticTasks.map((t) => t.run().then(() => this.hopWriters.get(t)?.taskFinished(), onFailure)), ...(this.kafka ? [this.kafka.done.catch(onFailure)] : []), ...this.kafkaHops.map((k) => k.done.catch(onFailure))]);
    await this.kafka?.close();
    for (const k of this.kafkaHops) await k.close();
    await Promise.allSettled(staticTasks.map((t) => t.chain.close()));
    await Promise.allSettled(staticTasks.map((t) => t.source.close()));
    await Promise.allSettled([...this.sinks.values()].map((s) => s.close()));
    await Promise.allSettled(this.res.owned.map((m) => m.close()));
    if (this.res.ownsLog) await this.res.log?.close();
    const failed = results.some((r) => r.status === 'rejected');
    return this.summary(failed ? 'failed' : this.stopRequested ? 'stopped' : 'completed');
  }

  private summary(status: JobSummary['status']): JobSummary {
    const durationMs = Date.now() - this.started;
    const recordsIn = this.recordsRead();
    const s: JobSummary = {
      topology: this.definition.name,
      status,
      recordsIn,
      recordsOut: this.counts.out,
      deadLettered: this.counts.dead,
      bySink: { ...this.counts.bySink },
      operators: Object.fromEntries([...this.opCounts].map(([k, v]) => [k, { ...v }])),
      durationMs,
      recordsPerSecond: durationMs > 0 ? Math.round((recordsIn / durationMs) * 1000) : 0,
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    if (this.hopReaders.size) {
      const hops: Record<string, { written: number; read: number }> = {};
      for (const topic of new Set(this.hopReaders.values())) hops[topic] = { written: 0, read: 0 };
      for (const [sink, n] of Object.entries(this.counts.internal ?? {})) {
        const h = hops[sink.slice(sink.indexOf(':') + 1)];
        if (h) h.written += n;
      }
      for (const [t, topic] of this.hopReaders) hops[topic]!.read += t.recordsRead;
      s.repartitioned = hops;
    }
    if (this.failure) s.error = `${this.failure.code}: ${this.failure.message}`;
    return s;
  }
}

/** The ids of a stage's stateful steps (their changelogs are restored by the stage's tasks). */
function statefulIds(stage: Stage): string[] {
  return stage.steps.filter((s) => STATEFUL_KINDS.has(s.kind)).map((s) => s.id);
}

/** The consumer group of a topology's Kafka sources: one per topology (the sources' `group`, else the topology name). */
function groupOf(def: TopologyDefinition, sources: TopicSourceConfig[]): string {
  const groups = new Set(sources.map((c) => c.group ?? def.name));
  if (groups.size > 1) throw new SluiceError('INVALID_TOPOLOGY', `Kafka sources of one topology share one consumer group, but they name ${[...groups].map((g) => `"${g}"`).join(', ')}; give them the same group (or none)`);
  return [...groups][0]!;
}

async function openSink(name: string, cfg: SinkConfig, log: EmbeddedLog | undefined, baseDir: string, schemas: SchemaContext | undefined, input: SourceCodecs['reader']): Promise<Sink> {
  switch (cfg.type) {
    case 'topic':
      return createTopicSink(name, log!, cfg.topic, await topicSinkCodecs(name, cfg, schemas, baseDir, input));
    case 'file':
      return createFileSink(name, resolve(baseDir, cfg.path), cfg, cfg.format === 'avro' ? await avroFileSchema(name, cfg, baseDir, input) : undefined);
    case 'stdout':
      return createStdoutSink(name);
  }
}
