import { Type, type Static } from '@sinclair/typebox';
import { compileExpression } from '../expr/index.js';
import { SluiceError } from '../core/errors.js';
import type { StreamRecord } from '../core/record.js';
import { stepSchema } from '../topology/schema.js';
import { FAILED, describeValue, evalOn } from './eval.js';
import type { OperatorSpec } from './operator.js';
import { allAlive, evalColumn } from './columnar.js';

const schema = stepSchema({
  /** Tried in order; a record goes to the first route whose `when` is true. */
  routes: Type.Array(Type.Object({ when: Type.String({ minLength: 1 }), to: Type.String({ minLength: 1 }) }, { additionalProperties: false }), { minItems: 1 }),
  /** Where records that match no route go. Without it they are dead-lettered, never dropped silently. */
  default: Type.Optional(Type.String({ minLength: 1 })),
});
type RouteConfig = Static<typeof schema>;

export const routeOperator: OperatorSpec<RouteConfig> = {
  kind: 'route',
  schema,
  terminal: true,
  check(config: RouteConfig, ctx) {
    config.routes.forEach((r, i) => {
      ctx.expression(['routes', i, 'when'], r.when);
      ctx.requireSink(['routes', i, 'to'], r.to);
    });
    if (config.default !== undefined) ctx.requireSink(['default'], config.default);
  },
  create(config, _deps, id) {
    const routes = config.routes.map((r) => ({ when: compileExpression(r.when), to: r.to }));
    const fallback = config.default;
    return {
      id,
      kind: 'route',
      concurrent: true,
      processColumns(batch, ctx) {
        const alive = allAlive(batch.rows);
        const pending = allAlive(batch.rows); // rows not yet routed
        const masks = new Map<string, Uint8Array>();
        const mask = (sink: string) => masks.get(sink) ?? masks.set(sink, new Uint8Array(batch.rows)).get(sink)!;
        for (const route of routes) {
          // Evaluate only rows still unrouted; a row whose condition throws was dead-lettered.
          const todo = alive.map((a, i) => a & pending[i]!);
          const before = todo.slice();
          const { values } = evalColumn(route.when, batch, todo, ctx);
          for (let i = 0; i < batch.rows; i++) {
            if (before[i] && !todo[i]) alive[i] = 0;
            if (!todo[i]) continue;
            const v = values[i];
            if (v === true) {
              mask(route.to)[i] = 1;
              pending[i] = 0;
            } else if (v !== false) {
              ctx.deadLetter(batch.record(i), new SluiceError('EXPRESSION_ERROR', `route condition \`${route.when.source}\` must give true or false; got ${describeValue(v)}`, { operator: id }));
              alive[i] = 0;
            }
          }
        }
        for (let i = 0; i < batch.rows; i++) {
          if (!alive[i] || !pending[i]) continue;
          if (fallback !== undefined) mask(fallback)[i] = 1;
          else ctx.deadLetter(batch.record(i), new SluiceError('INVALID_INPUT', 'record matched no route and the route step has no default', { operator: id }));
        }
        for (const [sink, m] of masks) ctx.emit(sink, batch.select(m));
        return batch.select(new Uint8Array(batch.rows));
      },
      process(batch, ctx) {
        const groups = new Map<string, StreamRecord[]>();
        next: for (const r of batch) {
          for (const route of routes) {
            const v = evalOn(route.when, r, ctx);
            if (v === FAILED) continue next;
            if (v !== true && v !== false) {
              ctx.deadLetter(r, new SluiceError('EXPRESSION_ERROR', `route condition \`${route.when.source}\` must give true or false; got ${describeValue(v)}`, { operator: id }));
              continue next;
            }
            if (v) {
              push(groups, route.to, r);
              continue next;
            }
          }
          if (fallback !== undefined) push(groups, fallback, r);
          else ctx.deadLetter(r, new SluiceError('INVALID_INPUT', 'record matched no route and the route step has no default', { operator: id }));
        }
        for (const [sink, recs] of groups) ctx.emit(sink, recs);
        return [];
      },
    };
  },
};

function push(groups: Map<string, StreamRecord[]>, sink: string, r: StreamRecord): void {
  const list = groups.get(sink);
  if (list) list.push(r);
  else groups.set(sink, [r]);
}
