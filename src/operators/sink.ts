import { Type, type Static } from '@sinclair/typebox';
import type { OperatorSpec } from './operator.js';

/** `- sink: name` ends a pipeline by writing every record to one sink. */
const schema = Type.String({ minLength: 1 });
type SinkStepConfig = Static<typeof schema>;

export const sinkOperator: OperatorSpec<SinkStepConfig> = {
  kind: 'sink',
  schema,
  terminal: true,
  check(config: SinkStepConfig, ctx) {
    ctx.requireSink([], config);
  },
  create(config, _deps, id) {
    return {
      id,
      kind: 'sink',
      concurrent: true,
      process(batch, ctx) {
        if (batch.length) ctx.emit(config, batch);
        return [];
      },
      processColumns(batch, ctx) {
        ctx.emit(config, batch);
        return batch.select(new Uint8Array(batch.rows));
      },
    };
  },
};
