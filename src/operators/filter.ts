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
  /** Keep records for which this expression is true. */
  where: Type.Optional(Type.String({ minLength: 1 })),
  /** A function (value, record) → boolean. */
  udf: Type.Optional(UdfSchema),
});
type FilterConfig = Static<typeof schema>;

export const filterOperator: OperatorSpec<FilterConfig> = {
  kind: 'filter',
  schema,
  check(config: FilterConfig, ctx) {
    if ((config.where === undefined) === (config.udf === undefined)) ctx.issue([], 'needs exactly one of where, udf');
    if (config.where) ctx.expression(['where'], config.where);
  },
  async create(config, deps, id) {
    const expr = config.where ? compileExpression(config.where) : undefined;
    const udf = config.udf ? await deps.loadUdf(config.udf.module, udfExport(config.udf)) : undefined;
    const what = expr ? `filter \`${expr.source}\`` : `filter udf ${config.udf?.module}`;
    return {
      id,
      kind: 'filter',
      concurrent: true,
      ...(expr
        ? {
            processColumns(batch, ctx) {
              const alive = allAlive(batch.rows);
              const { values } = evalColumn(expr, batch, alive, ctx);
              for (let i = 0; i < batch.rows; i++) {
                if (!alive[i]) continue;
                const v = values[i];
                if (v === false) alive[i] = 0;
                else if (v !== true) {
                  ctx.deadLetter(batch.record(i), new SluiceError('EXPRESSION_ERROR', `${what} must give true or false; got ${describeValue(v)}`, { operator: id }));
                  alive[i] = 0;
                }
              }
              return batch.select(alive);
            },
          }
        : {}),
      process(batch, ctx) {
        const out: StreamRecord[] = [];
        for (const r of batch) {
          const v = expr ? evalOn(expr, r, ctx) : callUdf(udf!, r, ctx, what);
          if (v === FAILED) continue;
          if (v === true) out.push(r);
          else if (v !== false) ctx.deadLetter(r, new SluiceError('EXPRESSION_ERROR', `${what} must give true or false; got ${describeValue(v)}`, { operator: id }));
        }
        return out;
      },
    };
  },
};
