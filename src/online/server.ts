/**
 * The online server: fastify built from named plugins that own their resources
 * (sluice-core: admission, metrics, served models, closing owned models; sluice-auth;
 * sluice-v2: the Open Inference Protocol; sluice-topology: the topology endpoint).
 */
import { fastify, type FastifyInstance } from 'fastify';
import { systemClock, type Clock } from '../core/clock.js';
import type { Metrics } from '../metrics/registry.js';
import type { ResolvedOnlineConfig } from './config.js';
import { tuneGcForServing } from './gc-tuning.js';
import { authPlugin } from './plugins/auth.js';
import { corePlugin } from './plugins/core.js';
import { topologyPlugin, type RecordAnswerer } from './plugins/topology.js';
import { v2Plugin } from './plugins/v2.js';
import { ServedModels, type ServedRunner } from './served-models.js';

export interface OnlineServerOptions {
  config: ResolvedOnlineConfig;
  /** Loaded models by topology model name. */
  runners: ReadonlyMap<string, ServedRunner>;
  /** What the server closes when it closes (models it loaded itself). */
  owned?: { close(): Promise<void> }[];
  /** The topology endpoint; without it only /v2 is served. */
  answerer?: RecordAnswerer;
  metrics: Metrics;
  clock?: Clock;
  /** Readiness beyond loaded models (a job started, state restored). */
  isReady?: () => boolean;
  /** Fastify's logger; default off (sluice logs its own lines). */
  logger?: boolean;
}

export async function buildServer(o: OnlineServerOptions): Promise<FastifyInstance> {
  tuneGcForServing();
  const app = fastify({ logger: o.logger ?? false, bodyLimit: o.config.bodyLimit, return503OnClosing: false, forceCloseConnections: 'idle' });
  await app.register(corePlugin, {
    config: o.config,
    models: new ServedModels(o.config.models, o.runners),
    metrics: o.metrics,
    clock: o.clock ?? systemClock,
    owned: o.owned ?? [],
    ...(o.isReady ? { isReady: o.isReady } : {}),
  });
  await app.register(authPlugin, { tokens: o.config.tokens });
  await app.register(v2Plugin);
  if (o.answerer) await app.register(topologyPlugin, { answerer: o.answerer });
  await app.ready();
  return app;
}
