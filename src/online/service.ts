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
import type { Metrics } from '../metrics/registry.js';
import { ModelRunner } from '../model/index.js';
import type { Job } from '../runtime/job.js';
import { RequestPath, onlineModels } from '../runtime/request-path.js';
import { kvStateStore } from '../state/index.js';
import type { LoadedTopology } from '../topology/load.js';
import { resolveOnlineConfig, type OnlineFlags, type ResolvedOnlineConfig } from './config.js';
import type { RecordAnswerer } from './plugins/topology.js';
import { buildServer } from './server.js';

/** Loads every model of the topology (all outputs, so /v2 can offer each), closing the loaded ones on failure. */
export async function loadAllModels(loaded: LoadedTopology, deps: { metrics: Metrics; logger: Logger }): Promise<Map<string, ModelRunner>> {
  const runners = new Map<string, ModelRunner>();
  try {
    for (const [name, cfg] of Object.entries(loaded.definition.models ?? {})) {
      runners.set(name, await ModelRunner.load({ name, ...cfg, path: resolve(loaded.baseDir, cfg.path), metrics: deps.metrics, logger: deps.logger }));
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
  clock?: Clock;
  logger?: Logger;
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
    const log = o.log;
    const job = o.job;
    path = await RequestPath.create(def, {
      models: onlineModels(runners, config.priority),
      baseDir: loaded.baseDir,
      clock,
      ...(log ? { state: { store: kvStateStore(log), partitions: (t: string) => log.topic(t)?.partitions, ...(job ? { live: (task: string, op: string) => job.stateBackend(task, op) } : {}) } } : {}),
    });
    const p = path;
    const firstModel = def.pipeline.map((s) => (s.score as { model?: string } | undefined)?.model).find((m) => m !== undefined) ?? '';
    const answerer: RecordAnswerer = o.answerer ?? { topology: def.name, model: firstModel, answer: (values, call) => p.answer(values, call) };
    const app = await buildServer({
      config,
      runners,
      owned: [...(owned ? [...runners.values()] : []), { close: () => p.close() }],
      answerer,
      metrics: o.metrics,
      clock,
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
