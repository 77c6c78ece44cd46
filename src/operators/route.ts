import { Type, type Static } from '@sinclair/typebox';
import { compileExpression } from '../expr/index.js';
import { SluiceError } from '../core/errors.js';
import type { StreamRecord } from '../core/record.js';
import { stepSchema } from '../topology/schema.js';
import { FAILED, describeValue, evalOn } from './eval.js';
import type { OperatorSpec } from './operator.js';

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
