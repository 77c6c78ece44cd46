import { compileExpression } from '../expr/index.js';
import type { CheckContext, StepCatalog } from './catalog.js';
import { TopologyError, type Issue, type Locator } from './issues.js';
import { schemaIssues } from './schema-check.js';
import { SINK_SCHEMAS, SOURCE_SCHEMAS, TopLevelSchema, type ModelConfig, type TopologyDefinition } from './schema.js';

export interface ValidateOptions {
  /** The file the definition came from, for messages. */
  file?: string;
  locate?: Locator;
}

/** Returns every problem found; an empty list means the definition is valid. */
export function topologyIssues(def: unknown, catalog: StepCatalog): Issue[] {
  const issues: Issue[] = [];
  if (typeof def !== 'object' || def === null || Array.isArray(def)) {
    return [{ path: [], message: 'a topology must be a mapping with name, sources, pipeline and sinks' }];
  }
  issues.push(...schemaIssues(TopLevelSchema, def, []));
  const d = def as Record<string, unknown>;
  const sinks = isObject(d.sinks) ? Object.keys(d.sinks) : [];
  const models = (isObject(d.models) ? d.models : {}) as Record<string, ModelConfig>;

  checkTyped(d.sources, 'sources', SOURCE_SCHEMAS, issues);
  checkTyped(d.sinks, 'sinks', SINK_SCHEMAS, issues);
  if (Array.isArray(d.pipeline)) checkPipeline(d.pipeline, catalog, models, sinks, issues);

  if (d.onError !== 'fail') {
    if (d.deadLetter === undefined) {
      issues.push({ path: ['deadLetter'], message: `required when onError is "deadLetter" (the default): name the sink that receives bad records (defined sinks: ${sinks.join(', ') || 'none'}), or set onError: fail` });
    } else if (typeof d.deadLetter === 'string' && !sinks.includes(d.deadLetter)) {
      issues.push({ path: ['deadLetter'], message: `unknown sink "${d.deadLetter}"; defined sinks: ${sinks.join(', ') || 'none'}` });
    } else if (typeof d.deadLetter === 'string' && (d.sinks as Record<string, { format?: unknown }>)[d.deadLetter]?.format === 'avro') {
      // Error envelopes (code, message, original bytes) have no place in the pipeline's Avro schema.
      issues.push({ path: ['sinks', d.deadLetter, 'format'], message: `sink "${d.deadLetter}" receives dead letters (error envelopes), which are written as JSON; use format json (the default) for it` });
    }
  }
  checkOnlineModels(d.online, Object.keys(models), issues);
  return issues;
}

/** online.models: every version names a model under models:. */
function checkOnlineModels(online: unknown, models: string[], issues: Issue[]): void {
  if (!isObject(online) || !isObject(online.models)) return;
  for (const [served, spec] of Object.entries(online.models)) {
    if (!isObject(spec) || !isObject(spec.versions)) continue;
    for (const [version, model] of Object.entries(spec.versions)) {
      if (typeof model === 'string' && !models.includes(model)) issues.push({ path: ['online', 'models', served, 'versions', version], message: `unknown model "${model}"; defined models: ${models.join(', ') || 'none'}` });
    }
  }
}

/** Throws a TopologyError listing every problem, or returns the definition typed. */
export function validateTopology(def: unknown, catalog: StepCatalog, opts: ValidateOptions = {}): TopologyDefinition {
  const issues = topologyIssues(def, catalog);
  if (issues.length) throw new TopologyError(issues, opts.file, opts.locate);
  return def as TopologyDefinition;
}

function checkTyped(section: unknown, name: string, schemas: Record<string, import('@sinclair/typebox').TSchema>, issues: Issue[]): void {
  if (!isObject(section)) return;
  const types = Object.keys(schemas);
  for (const [key, cfg] of Object.entries(section)) {
    const path = [name, key];
    if (!/^[A-Za-z0-9._-]+$/.test(key)) issues.push({ path, message: `name "${key}" has characters that are not allowed (use letters, digits, '.', '_' and '-')` });
    if (!isObject(cfg)) {
      issues.push({ path, message: `expected a mapping with a type (${types.join(', ')})` });
      continue;
    }
    const schema = typeof cfg.type === 'string' ? schemas[cfg.type] : undefined;
    if (!schema) {
      issues.push({ path: [...path, 'type'], message: cfg.type === undefined ? `required; one of ${types.join(', ')}` : `unknown type ${JSON.stringify(cfg.type)}; allowed: ${types.join(', ')}` });
      continue;
    }
    issues.push(...schemaIssues(schema, cfg, path));
  }
}

function checkPipeline(steps: unknown[], catalog: StepCatalog, models: Record<string, ModelConfig>, sinks: string[], issues: Issue[]): void {
  const ids = new Map<string, number>();
  steps.forEach((step, i) => {
    if (!isObject(step) || Object.keys(step).length !== 1) {
      issues.push({ path: ['pipeline', i], message: `a step is a mapping with exactly one key, the operator (one of ${catalog.kinds().join(', ')})` });
      return;
    }
    const [kind, config] = Object.entries(step)[0] as [string, unknown];
    const path = ['pipeline', i, kind];
    const spec = catalog.get(kind);
    if (!spec) {
      issues.push({ path: ['pipeline', i], message: `unknown operator "${kind}"; known operators: ${catalog.kinds().join(', ')}` });
      return;
    }
    const last = i === steps.length - 1;
    if (spec.terminal && !last) issues.push({ path, message: `"${kind}" sends records to sinks, so it must be the last step` });
    if (last && !spec.terminal) {
      const terminals = catalog.kinds().filter((k) => catalog.get(k)?.terminal);
      issues.push({ path, message: `the pipeline must end with a step that writes to sinks (${terminals.join(' or ')})` });
    }
    const before = issues.length;
    issues.push(...schemaIssues(spec.schema, config, path));
    if (issues.length > before) return;
    if (isObject(config) && typeof config.id === 'string') {
      const prev = ids.get(config.id);
      if (prev !== undefined) issues.push({ path: [...path, 'id'], message: `id "${config.id}" is already used by pipeline[${prev}]; step ids must be unique` });
      ids.set(config.id, i);
    }
    spec.check?.(config as never, checkContext(path, models, sinks, issues));
  });
}

function checkContext(base: (string | number)[], models: Record<string, ModelConfig>, sinks: string[], issues: Issue[]): CheckContext {
  const issue = (rel: (string | number)[], message: string): void => {
    issues.push({ path: [...base, ...rel], message });
  };
  return {
    models,
    sinks,
    issue,
    requireModel(rel, name) {
      if (!Object.hasOwn(models, name)) {
        const defined = Object.keys(models);
        issue(rel, `unknown model "${name}"; defined models: ${defined.join(', ') || 'none (add a models: section)'}`);
      }
    },
    requireSink(rel, name) {
      if (!sinks.includes(name)) issue(rel, `unknown sink "${name}"; defined sinks: ${sinks.join(', ') || 'none'}`);
    },
    expression(rel, source) {
      try {
        compileExpression(source);
      } catch (err) {
        issue(rel, err instanceof Error ? err.message : String(err));
      }
    },
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
