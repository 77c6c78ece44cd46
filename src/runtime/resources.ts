import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EmbeddedLog } from '../../connectors/embedded/index.js';
import type { Clock } from '../core/clock.js';
import { SluiceError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../metrics/registry.js';
import { ModelRunner } from '../model/index.js';
import { outputTensorName } from '../operators/index.js';
import type { TopologyDefinition } from '../topology/schema.js';

/**
 * Where the embedded log (on Kafka: the local state cache) lives: --data-dir, then the
 * connection's `embedded.dir` (from --connection or the topology), then SLUICE_DATA_DIR, then ./.sluice.
 */
export function resolveDataDir(def: TopologyDefinition, baseDir: string, override?: string, connectionDir?: string): string {
  if (override) return resolve(override);
  if (connectionDir) return connectionDir;
  const fromFile = def.connection?.embedded?.dir;
  if (fromFile) return resolve(baseDir, fromFile);
  return resolve(process.env.SLUICE_DATA_DIR ?? '.sluice');
}

/** Creates the topics a topology reads or writes that do not exist yet. */
export async function ensureTopics(def: TopologyDefinition, log: EmbeddedLog): Promise<void> {
  const topics = [...Object.values(def.sources), ...Object.values(def.sinks)].filter((c) => c.type === 'topic');
  for (const t of topics) if (!log.topic(t.topic)) await log.createTopic(t.topic, t.partitions ?? 1);
}

/** Loads every model the pipeline's score steps use, one runner per model. */
export async function loadModels(def: TopologyDefinition, baseDir: string, deps: { clock: Clock; logger: Logger; metrics: Metrics }): Promise<Map<string, ModelRunner>> {
  const used = new Set<string>();
  // The outputs each model's steps read; null once a step takes them all (no `outputs:`).
  const fetch = new Map<string, Set<string> | null>();
  for (const step of def.pipeline) {
    const cfg = step.score as { model?: string; outputs?: Record<string, string> } | undefined;
    if (!cfg?.model) continue;
    used.add(cfg.model);
    const names = cfg.outputs ? Object.values(cfg.outputs).map(outputTensorName) : null;
    const had = fetch.has(cfg.model) ? fetch.get(cfg.model)! : new Set<string>();
    fetch.set(cfg.model, had && names ? new Set([...had, ...names]) : null);
  }
  const runners = new Map<string, ModelRunner>();
  try {
    for (const name of used) {
      const cfg = def.models?.[name];
      if (!cfg) continue;
      const outputs = fetch.get(name);
      runners.set(name, await ModelRunner.load({ name, ...cfg, path: resolve(baseDir, cfg.path), ...(outputs ? { fetch: [...outputs] } : {}), clock: deps.clock, logger: deps.logger, metrics: deps.metrics }));
    }
  } catch (err) {
    await Promise.all([...runners.values()].map((r) => r.close()));
    throw err;
  }
  return runners;
}

/** Imports a named export of a UDF module, relative to the topology file. */
export async function loadUdf(baseDir: string, module: string, exportName: string): Promise<(...args: unknown[]) => unknown> {
  const path = resolve(baseDir, module);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (err) {
    throw new SluiceError('INVALID_TOPOLOGY', `cannot load UDF module "${module}" (${path}): ${(err as Error).message}`);
  }
  const fn = mod[exportName];
  if (typeof fn !== 'function') {
    throw new SluiceError('INVALID_TOPOLOGY', `UDF module "${module}" has no function export "${exportName}"; its exports: ${Object.keys(mod).join(', ') || 'none'}`);
  }
  return fn as (...args: unknown[]) => unknown;
}
