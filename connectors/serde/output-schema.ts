import avro from 'avsc';
import { SluiceError } from '../../src/core/errors.js';
import { parseAvroSchema, schemaJson } from './avro.js';

type FieldSchema = { name: string; type: unknown; default?: unknown; doc?: string };

/**
 * The schema of what a topology writes, derived from the schema it reads plus the fields
 * it adds (scores, model name and version...). Input fields the output still carries keep
 * their declared types and defaults; fields the pipeline added become optional
 * (`["null", T]`, default null), so a model upgrade that adds outputs registers a version
 * a BACKWARD-compatible registry accepts (the new schema reads the old data: the new
 * fields are null there). Types of added fields come from the sample's values.
 *
 * `base` may be undefined (no input schema known): every field is then inferred.
 */
export function deriveOutputSchema(base: avro.Type | undefined, sample: readonly unknown[], fullName: string): avro.Type {
  const names: string[] = [];
  const seen = new Set<string>();
  for (const v of sample) {
    if (typeof v !== 'object' || v === null) continue;
    for (const k of Object.keys(v)) if (!seen.has(k)) (seen.add(k), names.push(k));
  }
  const baseFields = base instanceof avro.types.RecordType ? base.fields : [];
  const baseSchema = base ? (schemaJson(base) as { fields?: FieldSchema[] }) : {};
  const fields: FieldSchema[] = [];
  const added: string[] = [];
  for (const [i, f] of baseFields.entries()) {
    if (!seen.has(f.name)) continue; // the pipeline dropped it
    const values = valuesOf(sample, f.name);
    if (values.every((v) => f.type.isValid(v))) fields.push(baseSchema.fields![i]!);
    else added.push(f.name); // the pipeline changed its type: typed from the values
  }
  const inBase = new Set(fields.map((f) => f.name));
  for (const n of names) if (!inBase.has(n) && !added.includes(n)) added.push(n);
  for (const n of added) fields.push({ name: n, type: ['null', inferType(valuesOf(sample, n), n)], default: null });
  const dot = fullName.lastIndexOf('.');
  const schema = { type: 'record', name: fullName.slice(dot + 1), ...(dot > 0 ? { namespace: fullName.slice(0, dot) } : {}), fields };
  return parseAvroSchema(schema, `the Avro output schema derived for ${fullName} (declare the sink's avro.schema instead)`);
}

function valuesOf(sample: readonly unknown[], name: string): unknown[] {
  const out: unknown[] = [];
  for (const v of sample) {
    const x = (v as Record<string, unknown> | null)?.[name];
    if (x !== undefined && x !== null) out.push(x);
  }
  return out;
}

/** The Avro type of an added field, from its non-null values. */
function inferType(values: unknown[], name: string): unknown {
  if (values.length === 0) return 'double'; // all null in the sample: most added fields are scores
  if (values.every((v) => typeof v === 'number')) return 'double';
  if (values.every((v) => typeof v === 'string')) return 'string';
  if (values.every((v) => typeof v === 'boolean')) return 'boolean';
  if (values.every((v) => typeof v === 'bigint')) return 'long';
  if (values.every((v) => Array.isArray(v))) {
    const items = values.flat();
    if (items.every((x) => typeof x === 'number')) return { type: 'array', items: 'double' };
    if (items.every((x) => typeof x === 'string')) return { type: 'array', items: 'string' };
  }
  throw new SluiceError('INVALID_TOPOLOGY', `cannot derive an Avro type for output field "${name}" from its values (${JSON.stringify(values[0])}); declare the sink's avro.schema`);
}
