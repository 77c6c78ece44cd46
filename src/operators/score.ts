import { Type, type Static } from '@sinclair/typebox';
import { SluiceError } from '../core/errors.js';
import type { StreamRecord } from '../core/record.js';
import { stepSchema } from '../topology/schema.js';
import { describeValue } from './eval.js';
import type { OperatorContext, OperatorSpec, ScoringModel } from './operator.js';

const OUTPUT_REF = /^([^[\]]+)(?:\[(\d+)\])?$/;

/** Whether the model sees v as the same finite number: the input tensor is float32, so 1e39 would be Infinity. */
function finite32(v: number): boolean {
  return Number.isFinite(Math.fround(v));
}

/** The tensor an `outputs:` reference reads: "probabilities[1]" → "probabilities". */
export function outputTensorName(ref: string): string {
  return OUTPUT_REF.exec(ref)?.[1] ?? ref;
}

const schema = stepSchema({
  /** A model defined under `models:`. */
  model: Type.String({ minLength: 1 }),
  /** Record fields, in the order of the model input's columns. */
  features: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
  /** A missing (null or absent) feature: dead-letter the record (default), or fill with a number. */
  missing: Type.Optional(Type.Union([Type.Literal('deadLetter'), Type.Object({ fill: Type.Number() }, { additionalProperties: false })])),
  /** Output fields: field name → "tensor" or "tensor[i]". Default: each model output under its own name. */
  outputs: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Type.String({ pattern: OUTPUT_REF.source }))),
  /**
   * A NaN in an output the step reads: dead-letter the record as MODEL_ERROR with the
   * features it was given (default false), or pass the NaN on (true), written as null.
   */
  allowNaN: Type.Optional(Type.Boolean()),
});
type ScoreConfig = Static<typeof schema>;

interface OutputMap {
  field: string;
  tensor: string;
  index: number | null;
}

export const scoreOperator: OperatorSpec<ScoreConfig> = {
  kind: 'score',
  schema,
  check(config: ScoreConfig, ctx) {
    ctx.requireModel(['model'], config.model);
  },
  create(config, deps, id) {
    const model = deps.models.get(config.model);
    if (!model) throw new SluiceError('INTERNAL', `score step "${id}": model "${config.model}" was not loaded`, { operator: id });
    const features = config.features;
    if (model.featureCount !== null && model.featureCount !== features.length) {
      throw new SluiceError('INVALID_TOPOLOGY', `score step "${id}": model "${model.name}" takes ${model.featureCount} features per row, but ${features.length} are listed (${features.join(', ')})`, { operator: id });
    }
    const outputs = outputMaps(config, model, id);
    const fill = typeof config.missing === 'object' ? config.missing.fill : undefined;
    const F = features.length;

    /** The error for a bad feature value, or null when it is usable (after fill). */
    const badFeature = (name: string, v: unknown): SluiceError | null => {
      if (v === null || v === undefined) {
        return fill === undefined ? new SluiceError('MISSING_FEATURE', `feature "${name}" is missing (model "${model.name}" needs ${features.join(', ')})`, { operator: id }) : null;
      }
      if (typeof v === 'number' && Number.isFinite(v)) {
        return new SluiceError('NON_NUMERIC_FEATURE', `feature "${name}" is ${v}, outside float32's range (±3.4e38): the model would read it as ${v > 0 ? '' : '-'}Infinity`, { operator: id });
      }
      return new SluiceError('NON_NUMERIC_FEATURE', `feature "${name}" must be a finite number; got ${describeValue(v)}`, { operator: id });
    };

    /** The error for row i whose outputs hold a NaN, naming the output and the features the model was given. */
    const nanError = (output: string, input: Float32Array, i: number): SluiceError => {
      const given = features.map((f, j) => `${f}=${input[i * F + j]}`).join(', ');
      return new SluiceError('MODEL_ERROR', `model "${model.name}" returned NaN in output "${output}" for features ${given} (set allowNaN: true on the step to pass NaN on)`, { operator: id, features: Object.fromEntries(features.map((f, j) => [f, input[i * F + j]])) });
    };

    /** Rows (index → the first NaN output's name) whose read outputs hold a NaN; empty when NaN is allowed. */
    const nanRows = (result: ModelResult, rows: number): Map<number, string> => {
      const bad = new Map<number, string>();
      if (config.allowNaN) return bad;
      for (const o of outputs) {
        const t = tensorOf(result, o);
        const width = t.data.length / rows;
        for (let i = 0; i < rows; i++) {
          if (bad.has(i)) continue;
          const from = i * width + (o.index ?? 0);
          const to = o.index === null ? from + width : from + 1;
          for (let k = from; k < to; k++) {
            if (Number.isNaN(t.data[k])) {
              bad.set(i, o.tensor);
              break;
            }
          }
        }
      }
      return bad;
    };

    /** Runs the model; non-retriable model errors dead-letter the rows, retriable ones fail the batch so it is retried. */
    const infer = async (data: Float32Array, rows: number, ctx: OperatorContext, deadLetterAll: (err: SluiceError) => void): Promise<ModelResult | null> => {
      try {
        return await model.infer(data, rows, ctx.call ? { wait: true, ...ctx.call } : { wait: true });
      } catch (err) {
        if (err instanceof SluiceError && !err.retriable) {
          deadLetterAll(err);
          return null;
        }
        throw err;
      }
    };

    const tensorOf = (result: ModelResult, o: OutputMap) => {
      const t = result[o.tensor];
      if (!t) throw new SluiceError('MODEL_ERROR', `model "${model.name}" returned no output "${o.tensor}"`, { operator: id });
      return t;
    };

    return {
      id,
      kind: 'score',
      concurrent: true,
      async process(batch, ctx) {
        const data = new Float32Array(batch.length * F);
        const rows: StreamRecord[] = [];
        next: for (const r of batch) {
          const base = rows.length * F;
          for (let j = 0; j < F; j++) {
            const name = features[j]!;
            const v = r.value[name];
            if (typeof v === 'number' && finite32(v)) data[base + j] = v;
            else {
              const err = badFeature(name, v);
              if (err) {
                ctx.deadLetter(r, err);
                continue next;
              }
              data[base + j] = fill!;
            }
          }
          rows.push(r);
        }
        if (rows.length === 0) return rows;
        const input = data.subarray(0, rows.length * F);
        const result = await infer(input, rows.length, ctx, (err) => rows.forEach((r) => ctx.deadLetter(r, err)));
        if (!result) return [];
        const nan = nanRows(result, rows.length);
        for (const o of outputs) {
          const t = tensorOf(result, o);
          const width = t.data.length / rows.length;
          for (let i = 0; i < rows.length; i++) {
            const rec = rows[i]!;
            if (o.index !== null) rec.value[o.field] = t.data[i * width + o.index];
            else if (width === 1) rec.value[o.field] = t.data[i];
            else rec.value[o.field] = Array.from({ length: width }, (_, k) => t.data[i * width + k]);
          }
        }
        if (nan.size === 0) return rows;
        for (const [i, output] of nan) ctx.deadLetter(rows[i]!, nanError(output, input, i));
        return rows.filter((_, i) => !nan.has(i));
      },
      async processColumns(batch, ctx) {
        const n = batch.rows;
        const data = new Float32Array(n * F);
        const alive = new Uint8Array(n).fill(1);
        for (let j = 0; j < F; j++) {
          const name = features[j]!;
          const col = batch.columns.get(name);
          const mask = batch.nulls.get(name);
          if (col instanceof Float64Array && !mask) {
            // The usual case, a number column without nulls: one tight loop; anything not finite takes the general path below.
            let clean = true;
            for (let i = 0, k = j; i < n; i++, k += F) {
              data[k] = col[i]!;
              const f = data[k]!;
              if (f - f !== 0) clean = false; // not finite as float32 (NaN, ±Infinity, or beyond ±3.4e38)
            }
            if (clean) continue;
          }
          for (let i = 0; i < n; i++) {
            if (!alive[i]) continue;
            const v = col === undefined ? null : mask && mask[i] ? null : (col[i] ?? null);
            if (typeof v === 'number' && finite32(v)) data[i * F + j] = v;
            else {
              const err = badFeature(name, v);
              if (err) {
                ctx.deadLetter(batch.record(i), err);
                alive[i] = 0;
              } else data[i * F + j] = fill!;
            }
          }
        }
        const kept = batch.select(alive);
        if (kept.rows === 0) return kept;
        let input = data;
        if (kept !== batch) {
          // Close the gaps left by dead-lettered rows.
          input = new Float32Array(kept.rows * F);
          for (let i = 0, k = 0; i < n; i++) if (alive[i]) input.set(data.subarray(i * F, i * F + F), F * k++);
        }
        const result = await infer(input, kept.rows, ctx, (err) => {
          for (let i = 0; i < kept.rows; i++) ctx.deadLetter(kept.record(i), err);
        });
        if (!result) return kept.select(new Uint8Array(kept.rows));
        const nan = nanRows(result, kept.rows);
        for (const o of outputs) {
          const t = tensorOf(result, o);
          const width = t.data.length / kept.rows;
          if (o.index === null && width === 1) {
            kept.setColumn(o.field, Float64Array.from(t.data));
            continue;
          }
          if (o.index !== null) {
            const col = new Float64Array(kept.rows);
            for (let i = 0; i < kept.rows; i++) col[i] = t.data[i * width + o.index]!;
            kept.setColumn(o.field, col);
            continue;
          }
          kept.setColumn(o.field, Array.from({ length: kept.rows }, (_, i) => Array.from(t.data.subarray(i * width, i * width + width))));
        }
        if (nan.size === 0) return kept;
        const ok = new Uint8Array(kept.rows).fill(1);
        for (const [i, output] of nan) {
          ctx.deadLetter(kept.record(i), nanError(output, input, i));
          ok[i] = 0;
        }
        return kept.select(ok);
      },
    };
  },
};

type ModelResult = Awaited<ReturnType<ScoringModel['infer']>>;

function outputMaps(config: ScoreConfig, model: ScoringModel, id: string): OutputMap[] {
  const names = model.outputs.map((o) => o.name);
  if (!config.outputs) return names.map((n) => ({ field: n, tensor: n, index: null }));
  return Object.entries(config.outputs).map(([field, ref]) => {
    const m = OUTPUT_REF.exec(ref)!;
    const tensor = m[1]!;
    if (!names.includes(tensor)) {
      throw new SluiceError('INVALID_TOPOLOGY', `score step "${id}": outputs.${field}: model "${model.name}" has no output "${tensor}"; its outputs: ${names.join(', ')}`, { operator: id });
    }
    return { field, tensor, index: m[2] === undefined ? null : Number(m[2]) };
  });
}
