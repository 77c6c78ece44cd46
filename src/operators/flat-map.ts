import { Type, type Static } from '@sinclair/typebox';
import { compileExpression } from '../expr/index.js';
import { SluiceError } from '../core/errors.js';
import type { StreamRecord } from '../core/record.js';
import { stepSchema } from '../topology/schema.js';
import { FAILED, callUdf, describeValue, evalOn } from './eval.js';
import type { OperatorSpec } from './operator.js';
import { UdfSchema, udfExport } from './udf.js';

const schema = stepSchema({
  /** An expression giving a list; each element becomes a record. */
  explode: Type.Optional(Type.String({ minLength: 1 })),
  /** The field each element is stored in (the other fields are copied). Default: the element must be an object and becomes the value. */
  as: Type.Optional(Type.String({ minLength: 1 })),
  /** A function (value, record) → list of value objects. */
  udf: Type.Optional(UdfSchema),
});
type FlatMapConfig = Static<typeof schema>;

export const flatMapOperator: OperatorSpec<FlatMapConfig> = {
  kind: 'flatMap',
  schema,
  check(config: FlatMapConfig, ctx) {
    if ((config.explode === undefined) === (config.udf === undefined)) ctx.issue([], 'needs exactly one of explode, udf');
    if (config.explode) ctx.expression(['explode'], config.explode);
    if (config.udf && config.as) ctx.issue(['as'], 'applies to explode only; a udf returns whole values');
  },
  async create(config, deps, id) {
    const expr = config.explode ? compileExpression(config.explode) : undefined;
    const udf = config.udf ? await deps.loadUdf(config.udf.module, udfExport(config.udf)) : undefined;
    const as = config.as;
    const what = expr ? `flatMap \`${expr.source}\`` : `flatMap udf ${config.udf?.module}`;
    return {
      id,
      kind: 'flatMap',
      concurrent: true,
      process(batch, ctx) {
        const out: StreamRecord[] = [];
        for (const r of batch) {
          const list = expr ? evalOn(expr, r, ctx) : callUdf(udf!, r, ctx, what);
          if (list === FAILED) continue;
          if (!Array.isArray(list)) {
            ctx.deadLetter(r, new SluiceError(expr ? 'EXPRESSION_ERROR' : 'UDF_ERROR', `${what} must give a list; got ${describeValue(list)}`, { operator: id }));
            continue;
          }
          const bad = as === undefined ? list.find((e) => typeof e !== 'object' || e === null || Array.isArray(e)) : undefined;
          if (bad !== undefined) {
            ctx.deadLetter(r, new SluiceError('INVALID_INPUT', `${what}: each element must be an object when \`as\` is not set; got ${describeValue(bad)}`, { operator: id }));
            continue;
          }
          for (const e of list) {
            const value = as === undefined ? { ...(e as Record<string, unknown>) } : { ...r.value, [as]: e };
            out.push({ ...r, value });
          }
        }
        return out;
      },
    };
  },
};
