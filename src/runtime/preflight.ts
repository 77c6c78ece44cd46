/**
 * What `sluice validate` checks beyond the file itself: everything `run` would refuse
 * at start. Model files exist and load (a session is created, nothing is scored), each
 * score step's feature count and output tensors match its model, UDF modules exist and
 * export the named function, and file sources' paths and globs match files. Problems
 * come back as topology issues (path into the file), so they print with file and line.
 */
import { resolve } from 'node:path';
import { expandPaths } from '../../connectors/files/index.js';
import { systemClock } from '../core/clock.js';
import { SluiceError } from '../core/errors.js';
import { memoryLogger } from '../core/logger.js';
import { ModelRunner } from '../model/index.js';
import { outputTensorName } from '../operators/index.js';
import type { Issue } from '../topology/issues.js';
import type { LoadedTopology } from '../topology/load.js';
import { loadUdf } from './resources.js';

interface ModelFacts {
  featureCount: number | null;
  outputs: string[];
}

export async function preflightIssues(loaded: LoadedTopology): Promise<Issue[]> {
  const { definition: def, baseDir } = loaded;
  const issues: Issue[] = [];
  const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

  // Models: each defined one loads (one worker, no warm-up run), once.
  const facts = new Map<string, ModelFacts | null>();
  for (const [name, cfg] of Object.entries(def.models ?? {})) {
    let runner: ModelRunner | undefined;
    try {
      runner = await ModelRunner.load({ name, ...cfg, path: resolve(baseDir, cfg.path), workers: 1, warmup: false, inlineBudgetUs: 0, clock: systemClock, logger: memoryLogger() });
      facts.set(name, { featureCount: runner.featureCount, outputs: runner.outputs.map((o) => o.name) });
    } catch (err) {
      facts.set(name, null);
      issues.push({ path: ['models', name, 'path'], message: message(err) });
    } finally {
      await runner?.close();
    }
  }

  for (const [i, step] of def.pipeline.entries()) {
    const [kind, config] = Object.entries(step)[0] as [string, Record<string, unknown>];
    const at = ['pipeline', i, kind];
    if (kind === 'score') {
      const model = facts.get(String(config.model));
      if (!model) continue; // unknown (schema issue) or failed to load (reported above)
      const features = config.features as string[];
      if (model.featureCount !== null && model.featureCount !== features.length) {
        issues.push({ path: [...at, 'features'], message: `model "${String(config.model)}" takes ${model.featureCount} features per row, but ${features.length} are listed` });
      }
      for (const [field, ref] of Object.entries((config.outputs ?? {}) as Record<string, string>)) {
        const tensor = outputTensorName(ref);
        if (!model.outputs.includes(tensor)) issues.push({ path: [...at, 'outputs', field], message: `model "${String(config.model)}" has no output "${tensor}"; its outputs: ${model.outputs.join(', ')}` });
      }
    }
    const udf = config.udf as { module: string; export?: string } | undefined;
    if (udf) {
      try {
        await loadUdf(baseDir, udf.module, udf.export ?? 'default');
      } catch (err) {
        const noExport = err instanceof SluiceError && /has no function export/.test(err.message);
        issues.push({ path: [...at, 'udf', noExport ? 'export' : 'module'], message: message(err) });
      }
    }
  }

  for (const [name, cfg] of Object.entries(def.sources)) {
    if (cfg.type !== 'file') continue;
    try {
      await expandPaths(cfg.path, baseDir);
    } catch (err) {
      issues.push({ path: ['sources', name, 'path'], message: message(err) });
    }
  }
  return issues;
}
