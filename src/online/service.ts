/**
 * Assembles an online server for a topology: loads every model the server offers (all
 * of `models:`, shared with a job in the same process), builds the request path over the
 * topology's keyed state, and starts the fastify server.
 */
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { EmbeddedLog } from '../../connectors/embedded/index.js';
import { systemClock, type Clock } from '../core/clock.js';
import { createLogger, type Logger } from '../core/logger.js';
import { toAbortSignal } from '../core/cancel.js';
import { SluiceError } from '../core/errors.js';
import type { Metrics } from '../metrics/registry.js';
import { ModelRunner } from '../model/index.js';
import type { Job } from '../runtime/job.js';
import { RequestPath, onlineModels } from '../runtime/request-path.js';
import { coalescingReads, kvStateStore } from '../state/index.js';
import type { LoadedTopology } from '../topology/load.js';
import { resolveOnlineConfig, type OnlineFlags, type ResolvedOnlineConfig } from './config.js';
import type { RecordAnswerer } from './plugins/topology.js';
import { buildServer } from './server.js';
import { BridgeClient } from './bridge/client.js';
import { BridgeResponder } from './bridge/responder.js';
import type { BridgeTransport } from './bridge/transport.js';
import { onlineMetrics } from './metrics.js';
import type { TopologyDefinition } from '../topology/schema.js';

/** The inline budget of models loaded for online serving (see ModelOptions.inlineBudgetUs). */
export const ONLINE_INLINE_BUDGET_US = 150;

/** Loads every model of the topology (all outputs, so /v2 can offer each), closing the loaded ones on failure. */
export async function loadAllModels(loaded: LoadedTopology, deps: { metrics: Metrics; logger: Logger }): Promise<Map<string, ModelRunner>> {
  const runners = new Map<string, ModelRunner>();
  try {
    for (const [name, cfg] of Object.entries(loaded.definition.models ?? {})) {
      // Online batches beside bulk work run on the main thread unless the model entry says otherwise (ModelOptions.inlineBudgetUs).
      runners.set(name, await ModelRunner.load({ name, inlineBudgetUs: ONLINE_INLINE_BUDGET_US, ...cfg, path: resolve(loaded.baseDir, cfg.path), metrics: deps.metrics, logger: deps.logger }));
    }
  } catch (err) {
    await Promise.all([...runners.values()].map((r) => r.close()));
    throw err;
  }
  return runners;
}

export interface OnlineServiceOptions {
  metrics: Metrics;
  flags?: OnlineFlags;
  /** The embedded log holding the topology's state (open in this process). */
  log?: EmbeddedLog;
  /** A job of the same topology running in this process: requests see its uncommitted state, and readiness waits for it. */
  job?: Job;
  /** Models already loaded (shared with the job); the server does not close them. Default: the server loads and owns them. */
  runners?: ReadonlyMap<string, ModelRunner>;
  answerer?: RecordAnswerer;
  /** The request-reply bridge's transport (online.mode: bridge): the embedded log or Kafka. */
  transport?: BridgeTransport;
  /** Also answer the bridge's requests here (this process runs the job that owns the state). */
  responder?: boolean;
  clock?: Clock;
  logger?: Logger;
}

/** Partitions of the request topic: those of the topology's first topic source. */
function requestPartitions(def: TopologyDefinition, log: EmbeddedLog | undefined): number {
  const src = Object.values(def.sources).find((c) => c.type === 'topic');
  if (!src || src.type !== 'topic') return 1;
  return log?.topic(src.topic)?.partitions ?? src.partitions ?? 1;
}

/** The request path over this process's state (the store, and a running job's live state over it). */
function requestPath(loaded: LoadedTopology, o: { runners: ReadonlyMap<string, ModelRunner>; priority: number; clock: Clock; log?: EmbeddedLog | undefined; job?: Job | undefined }): Promise<RequestPath> {
  const { log, job } = o;
  return RequestPath.create(loaded.definition, {
    models: onlineModels(o.runners, o.priority),
    baseDir: loaded.baseDir,
    clock: o.clock,
    ...(log ? { state: { store: coalescingReads(kvStateStore(log)), partitions: (t: string) => log.topic(t)?.partitions, ...(job ? { live: (task: string, op: string) => job.stateBackend(task, op) } : {}) } } : {}),
  });
}

/**
 * The bridge's owner side alone, for a process that runs the job but serves no HTTP
 * (`sluice run FILE` with online.mode: bridge, the other process serving HTTP over Kafka).
 */
export async function startResponder(loaded: LoadedTopology, o: { transport: BridgeTransport; runners: ReadonlyMap<string, ModelRunner>; log?: EmbeddedLog; job?: Job; clock?: Clock; logger: Logger; /** The job's tasks hand it their requests (Kafka) instead of it subscribing (embedded). */ byTasks?: boolean }): Promise<{ responder: BridgeResponder; close(): Promise<void> }> {
  const config = resolveOnlineConfig(loaded.definition.online, Object.keys(loaded.definition.models ?? {}));
  const clock = o.clock ?? systemClock;
  const path = await requestPath(loaded, { runners: o.runners, priority: config.priority, clock, log: o.log, job: o.job });
  const ro = { transport: o.transport, path, clock, logger: o.logger, partitions: requestPartitions(loaded.definition, o.log) };
  const responder = o.byTasks ? BridgeResponder.forTasks(ro) : await BridgeResponder.start(ro);
  return {
    responder,
    async close() {
      await responder.close();
      await path.close();
    },
  };
}

export interface OnlineService {
  app: FastifyInstance;
  config: ResolvedOnlineConfig;
  path: RequestPath;
  /** Listens on the configured host and port; returns the URL. */
  listen(): Promise<string>;
  /** Stops taking requests, waits for those in flight, closes what the server owns. */
  close(): Promise<void>;
}

export async function createOnlineService(loaded: LoadedTopology, o: OnlineServiceOptions): Promise<OnlineService> {
  const def = loaded.definition;
  const logger = o.logger ?? createLogger(`serve:${def.name}`);
  const config = resolveOnlineConfig(def.online, Object.keys(def.models ?? {}), o.flags);
  const owned = !o.runners;
  const runners = o.runners ?? (await loadAllModels(loaded, { metrics: o.metrics, logger }));
  const clock = o.clock ?? systemClock;
  let path: RequestPath | undefined;
  try {
    path = await requestPath(loaded, { runners, priority: config.priority, clock, log: o.log, job: o.job });
    const p = path;
    const firstModel = def.pipeline.map((s) => (s.score as { model?: string } | undefined)?.model).find((m) => m !== undefined) ?? '';
    const closers: { close(): Promise<void> }[] = [];
    let answerer: RecordAnswerer = o.answerer ?? { topology: def.name, model: firstModel, answer: (values, call) => p.answer(values, call) };
    const partitions = requestPartitions(def, o.log);
    if (o.responder) {
      if (!o.transport) throw new SluiceError('INVALID_INPUT', 'the bridge responder needs a transport');
      closers.push(await BridgeResponder.start({ transport: o.transport, path: p, clock, logger, partitions }));
    }
    if (config.mode === 'bridge' && !o.answerer) {
      if (!o.transport) throw new SluiceError('INVALID_TOPOLOGY', `online.mode: bridge needs a topic transport (the embedded log or a Kafka connection)`);
      const client = await BridgeClient.start({ transport: o.transport, path: p, metrics: onlineMetrics(o.metrics.registry), partitions, model: firstModel });
      closers.push(client);
      // The bridge client is handed a real AbortSignal (it may pass it on to APIs that need one).
      answerer = { topology: client.topology, model: client.model, answer: (values, call) => client.answer(values, { ...call, signal: toAbortSignal(call.signal) }) };
    }
    const app = await buildServer({
      config,
      runners,
      // Closed after in-flight requests: the bridge's subscriptions, then the request path and owned models.
      owned: [{ close: async () => { for (const c of closers) await c.close(); await p.close(); if (owned) await Promise.all([...runners.values()].map((r) => r.close())); } }],
      answerer,
      metrics: o.metrics,
      clock,
      // Beside a job: ready once it runs tasks (on Kafka, after their state is restored).
      ...(o.job ? { isReady: () => o.job!.hasTasks() } : {}),
    });
    return {
      app,
      config,
      path,
      async listen() {
        const url = await app.listen({ port: config.port, host: config.host });
        logger.info(`online: ${url} (Open Inference Protocol under /v2, POST /v1/topologies/${def.name}/score)`);
        return url;
      },
      close: () => app.close(),
    };
  } catch (err) {
    await path?.close();
    if (owned) await Promise.all([...runners.values()].map((r) => r.close()));
    throw err;
  }
}
