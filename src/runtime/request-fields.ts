/**
 * The fields an online request's record must carry itself, known before the pipeline runs:
 * the features of the first score step that no step before it sets. Only steps whose
 * outputs are known from their configuration may come before it (map with `set`, keyBy,
 * aggregate); after anything else (a filter that may drop the record, a UDF, a window, a
 * flatMap) nothing is known for certain, and the steps check their own input as they run.
 */
import type { TopologyDefinition } from '../topology/schema.js';

export interface RequiredField {
  field: string;
  /** The score step that reads it. */
  step: string;
  /** A missing value is filled (the score step's `missing: { fill }`): only its type is checked. */
  fillable: boolean;
}

export function requiredInputFields(def: TopologyDefinition): RequiredField[] {
  const produced = new Set<string>();
  for (const [i, step] of def.pipeline.entries()) {
    const [kind, raw] = Object.entries(step)[0] as [string, unknown];
    const config = (raw ?? {}) as Record<string, unknown>;
    const id = (config.id as string | undefined) ?? `${kind}-${i}`;
    if (kind === 'score') {
      const fillable = typeof config.missing === 'object' && config.missing !== null;
      return ((config.features as string[] | undefined) ?? []).filter((f) => !produced.has(f)).map((field) => ({ field, step: id, fillable }));
    }
    if (kind === 'map' && !config.udf) for (const f of Object.keys((config.set as Record<string, string> | undefined) ?? {})) produced.add(f);
    else if (kind === 'aggregate') for (const f of Object.keys((config.aggregates as Record<string, unknown> | undefined) ?? {})) produced.add(f);
    else if (kind !== 'keyBy') return [];
  }
  return [];
}

/** What is wrong with `value` for a required field, or null. */
export function checkRequired(record: Record<string, unknown>, r: RequiredField): { code: 'MISSING_FEATURE' | 'NON_NUMERIC_FEATURE'; message: string } | null {
  const v = record[r.field];
  if (v === undefined || v === null) {
    if (r.fillable) return null;
    return { code: 'MISSING_FEATURE', message: `feature "${r.field}" is missing: score step "${r.step}" needs it as a finite number (checked before the pipeline ran; send the field)` };
  }
  if (typeof v === 'number' && Number.isFinite(v)) return null;
  const got = typeof v === 'string' ? `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}` : Array.isArray(v) ? 'an array' : typeof v === 'number' ? String(v) : typeof v;
  return { code: 'NON_NUMERIC_FEATURE', message: `feature "${r.field}" must be a finite number for score step "${r.step}"; got ${got}` };
}
