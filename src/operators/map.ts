import { Type, type Static } from '@sinclair/typebox';
import { compileExpression } from '../expr/index.js';
import { SluiceError } from '../core/errors.js';
import type { StreamRecord } from '../core/record.js';
import { stepSchema } from '../topology/schema.js';
import { FAILED, callUdf, describeValue, evalOn } from './eval.js';
import type { OperatorSpec } from './operator.js';
import { allAlive, evalColumn } from './columnar.js';
import { UdfSchema, udfExport } from './udf.js';

const schema = stepSchema({
  /** Fields to set, each from an expression, applied in order (a later one sees earlier ones). */
  set: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Type.String({ minLength: 1 }))),
  /** Fields to remove. */
  drop: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
  /** Keep only these fields (applied after set and drop). */
  keep: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
  /** A function (value, record) → new value object. */
  udf: Type.Optional(UdfSchema),
});
type MapConfig = Static<typeof schema>;

export const mapOperator: OperatorSpec<MapConfig> = {
  kind: 'map',
  schema,
  check(config: MapConfig, ctx) {
    if (!config.set && !config.drop && !config.keep && !config.udf) ctx.issue([], 'needs at least one of set, drop, keep, udf');
    for (const [field, src] of Object.entries(config.set ?? {})) ctx.expression(['set', field], src);
  },
  async create(config, deps, id) {
    const sets = Object.entries(config.set ?? {}).map(([field, src]) => [field, compileExpression(src)] as const);
    const drop = config.drop ?? [];
    const keep = config.keep;
    const udf = config.udf ? await deps.loadUdf(config.udf.module, udfExport(config.udf)) : undefined;
    return {
      id,
      kind: 'map',
      concurrent: true,
      // A UDF needs whole values, so only expression maps work on columns.
      ...(udf
        ? {}
        : {
            processColumns(batch, ctx) {
              const alive = allAlive(batch.rows);
              for (const [field, expr] of sets) {
                const { values, nulls } = evalColumn(expr, batch, alive, ctx, true);
                batch.setColumn(field, values, nulls);
              }
              for (const f of drop) batch.dropColumn(f);
              if (keep) batch.keepColumns(keep);
              return batch.select(alive);
            },
          }),
      process(batch, ctx) {
        const out: StreamRecord[] = [];
        next: for (const r of batch) {
          if (udf) {
            const v = callUdf(udf, r, ctx, `map udf ${config.udf?.module}`);
            if (v === FAILED) continue;
            if (v !== undefined) {
              if (typeof v !== 'object' || v === null || Array.isArray(v)) {
                ctx.deadLetter(r, new SluiceError('UDF_ERROR', `map udf must return an object (or nothing to keep its changes); got ${describeValue(v)}`, { operator: id }));
                continue;
              }
              r.value = v as Record<string, unknown>;
            }
          }
          for (const [field, expr] of sets) {
            const v = evalOn(expr, r, ctx);
            if (v === FAILED) continue next;
            r.value[field] = v;
          }
          for (const f of drop) delete r.value[f];
          if (keep) {
            const kept: Record<string, unknown> = {};
            for (const f of keep) if (Object.hasOwn(r.value, f)) kept[f] = r.value[f];
            r.value = kept;
          }
          out.push(r);
        }
        return out;
      },
    };
  },
};
