import { Type, type Static } from '@sinclair/typebox';
import { SluiceError } from '../core/errors.js';
import type { StreamRecord } from '../core/record.js';
import { stepSchema } from '../topology/schema.js';
import { describeValue } from './eval.js';
import type { OperatorSpec, ScoringModel } from './operator.js';

const OUTPUT_REF = /^([^[\]]+)(?:\[(\d+)\])?$/;

const schema = stepSchema({
  /** A model defined under `models:`. */
  model: Type.String({ minLength: 1 }),
  /** Record fields, in the order of the model input's columns. */
  features: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
  /** A missing (null or absent) feature: dead-letter the record (default), or fill with a number. */
  missing: Type.Optional(Type.Union([Type.Literal('deadLetter'), Type.Object({ fill: Type.Number() }, { additionalProperties: false })])),
  /** Output fields: field name → "tensor" or "tensor[i]". Default: each model output under its own name. */
  outputs: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Type.String({ pattern: OUTPUT_REF.source }))),
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
    return {
      id,
      kind: 'score',
      concurrent: true,
      async process(batch, ctx) {
        const F = features.length;
        const data = new Float32Array(batch.length * F);
        const rows: StreamRecord[] = [];
        for (const r of batch) {
          const base = rows.length * F;
          let ok = true;
          for (let j = 0; j < F; j++) {
            const name = features[j]!;
            const v = r.value[name];
            if (typeof v === 'number' && Number.isFinite(v)) data[base + j] = v;
            else if (v === null || v === undefined) {
              if (fill === undefined) {
                ctx.deadLetter(r, new SluiceError('MISSING_FEATURE', `feature "${name}" is missing (model "${model.name}" needs ${features.join(', ')})`, { operator: id }));
                ok = false;
                break;
              }
              data[base + j] = fill;
            } else {
              ctx.deadLetter(r, new SluiceError('NON_NUMERIC_FEATURE', `feature "${name}" must be a finite number; got ${describeValue(v)}`, { operator: id }));
              ok = false;
              break;
            }
          }
          if (ok) rows.push(r);
        }
        if (rows.length === 0) return rows;
        let result: Awaited<ReturnType<ScoringModel['infer']>>;
        try {
          result = await model.infer(rows.length === batch.length ? data : data.subarray(0, rows.length * F), rows.length, { wait: true });
        } catch (err) {
          // Retriable errors (shutdown, overload) fail the batch so it is retried, not dead-lettered.
          if (err instanceof SluiceError && !err.retriable) {
            for (const r of rows) ctx.deadLetter(r, err);
            return [];
          }
          throw err;
        }
        for (const o of outputs) {
          const t = result[o.tensor];
          if (!t) throw new SluiceError('MODEL_ERROR', `model "${model.name}" returned no output "${o.tensor}"`, { operator: id });
          const width = rows.length ? t.data.length / rows.length : 0;
          for (let i = 0; i < rows.length; i++) {
            const rec = rows[i]!;
            if (o.index !== null) rec.value[o.field] = t.data[i * width + o.index];
            else if (width === 1) rec.value[o.field] = t.data[i];
            else rec.value[o.field] = Array.from({ length: width }, (_, k) => t.data[i * width + k]);
          }
        }
        return rows;
      },
    };
  },
};

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
