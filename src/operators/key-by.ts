import { Type, type Static } from '@sinclair/typebox';
import { compileExpression } from '../expr/index.js';
import { SluiceError } from '../core/errors.js';
import type { ColumnarBatch } from '../core/columns.js';
import type { StreamRecord } from '../core/record.js';
import { stepSchema } from '../topology/schema.js';
import { FAILED, describeValue, evalOn } from './eval.js';
import type { OperatorSpec } from './operator.js';
import { allAlive, evalColumn } from './columnar.js';

const schema = stepSchema({
  /** Expression for the record key (a string or number; numbers become strings). Sinks partition by it. */
  key: Type.String({ minLength: 1 }),
  /**
   * Partitions of the internal repartition topic when later steps keep state by this key.
   * Default: the most partitions of any input (one task per partition either way).
   */
  partitions: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
});
type KeyByConfig = Static<typeof schema>;

export const keyByOperator: OperatorSpec<KeyByConfig> = {
  kind: 'keyBy',
  schema,
  check(config: KeyByConfig, ctx) {
    ctx.expression(['key'], config.key);
  },
  create(config, _deps, id) {
    const expr = compileExpression(config.key);
    const source = config.key.trim();
    const field = expr.fields.length === 1 && expr.fields[0] === source ? source : undefined;
    return {
      id,
      kind: 'keyBy',
      concurrent: true,
      processColumns(batch, ctx) {
        // A key that is a text field as it stands (the common `key: "user"`) is that column.
        const strings = field === undefined ? undefined : stringColumn(batch, field);
        if (strings) {
          batch.keys = strings.slice(0, batch.rows);
          return batch;
        }
        const alive = allAlive(batch.rows);
        const { values } = evalColumn(expr, batch, alive, ctx);
        const keys: (string | null)[] = new Array(batch.rows).fill(null);
        for (let i = 0; i < batch.rows; i++) {
          if (!alive[i]) continue;
          const k = values[i];
          if (typeof k === 'string') keys[i] = k;
          else if (typeof k === 'number' && Number.isFinite(k)) keys[i] = String(k);
          else {
            ctx.deadLetter(batch.record(i), new SluiceError('INVALID_INPUT', `keyBy \`${expr.source}\` must give a string or number; got ${describeValue(k)}`, { operator: id }));
            alive[i] = 0;
          }
        }
        batch.keys = keys;
        return batch.select(alive);
      },
      process(batch, ctx) {
        const out: StreamRecord[] = [];
        for (const r of batch) {
          const k = evalOn(expr, r, ctx);
          if (k === FAILED) continue;
          if (typeof k === 'string') r.key = k;
          else if (typeof k === 'number' && Number.isFinite(k)) r.key = String(k);
          else {
            ctx.deadLetter(r, new SluiceError('INVALID_INPUT', `keyBy \`${expr.source}\` must give a string or number; got ${describeValue(k)}`, { operator: id }));
            continue;
          }
          out.push(r);
        }
        return out;
      },
    };
  },
};

/** The named column when every row holds a string (no nulls, no other values), else undefined. */
function stringColumn(batch: ColumnarBatch, name: string): string[] | undefined {
  const col = batch.columns.get(name);
  if (!Array.isArray(col) || batch.nulls.has(name)) return undefined;
  for (let i = 0; i < batch.rows; i++) if (typeof col[i] !== 'string') return undefined;
  return col as string[];
}
