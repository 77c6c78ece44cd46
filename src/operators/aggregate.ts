import { Type, type Static } from '@sinclair/typebox';
import { SluiceError, ensureError } from '../core/errors.js';
import type { ColumnarBatch } from '../core/columns.js';
import type { StreamRecord } from '../core/record.js';
import { AggregatesSchema, addInputs, addInputsOwned, compileAggregates, type AggregateState, type CompiledAggregate } from '../state/accumulators.js';
import { aggregateStateCodec } from '../state/aggregate-codec.js';
import { DURATION_HELP, DurationSchema, parseDuration } from '../state/duration.js';
import { stepSchema } from '../topology/schema.js';
import type { CheckContext } from '../topology/catalog.js';
import { FAILED, describeValue } from './eval.js';
import { ColumnRows, ResultColumns } from './columnar.js';
import type { OperatorContext, OperatorSpec } from './operator.js';

const schema = stepSchema({
  /** Output field → aggregate, e.g. `{ txn_count: { count: {} }, avg_amount: { avg: "amount" } }`. */
  aggregates: AggregatesSchema,
  /** Forget a key this long after its last record (a duration: "30d", "12h", or ms). Default: never. */
  ttl: Type.Optional(DurationSchema),
});
type AggregateStepConfig = Static<typeof schema>;

/**
 * Running aggregates per record key: each record goes on with every aggregate field set
 * to its value over the key's records so far, itself included. Needs keyed records.
 */
export const aggregateOperator: OperatorSpec<AggregateStepConfig> = {
  kind: 'aggregate',
  schema,
  check(config: AggregateStepConfig, ctx) {
    checkAggregates(config.aggregates, ctx);
    if (config.ttl !== undefined && parseDuration(config.ttl) === undefined) ctx.issue(['ttl'], `${JSON.stringify(config.ttl)} is not a duration; ${DURATION_HELP}`);
  },
  create(config, deps, id) {
    const aggs = compileAggregates(config.aggregates);
    const ttlMs = config.ttl === undefined ? 0 : requireDuration(config.ttl, 'ttl', id);
    const backend = deps.state(id);
    // Stored packed where the aggregates allow it; a state read either way is then checked
    // once when loaded (fromJson), so adds need no check per slot (addInputsOwned).
    const codec = aggregateStateCodec(aggs, `aggregate "${id}"`);
    const options = { ...(ttlMs ? { ttlMs } : {}), ...(codec ? { codec } : {}) };
    const add = codec ? addInputsOwned : addInputs;
    const state = backend.value<AggregateState>('aggregates', options);
    const scratch = new Array<unknown>(aggs.length);
    // The keys prefetch collected, by batch: the chain prefetches a batch just before running it, so the step takes them instead of collecting them again.
    const prefetched = new WeakMap<StreamRecord[] | ColumnarBatch, Set<string>>();
    const keysFor = (batch: StreamRecord[] | ColumnarBatch): Set<string> => {
      const keys = prefetched.get(batch);
      if (keys === undefined) return keysOf(batch);
      prefetched.delete(batch);
      return keys;
    };
    return {
      id,
      kind: 'aggregate',
      // Reads only its inputs' fields and sets its outputs, so columnar batches stay columnar.
      columnar: { reads: [...new Set(aggs.flatMap((a) => a.expr?.fields ?? []))], writes: aggs.map((a) => a.name) },
      prefetch(batch) {
        const keys = keysOf(batch);
        prefetched.set(batch, keys);
        backend.prefetch(keys);
      },
      /** The same work as process() on a columnar batch, row by row in order, reading inputs from the columns and writing results as columns. */
      async processColumns(batch, ctx) {
        const n = batch.rows;
        const keys = batch.keys;
        if (keys) await backend.load(keysFor(batch));
        const rows = new ColumnRows(batch, aggs.map((a) => a.expr));
        const results = new ResultColumns(aggs.map((a) => a.name), n);
        const keep = new Uint8Array(n);
        const what = `aggregate "${id}"`;
        for (let i = 0; i < n; i++) {
          const key = keys ? keys[i]! : null;
          if (key === null) {
            ctx.deadLetter(batch.record(i), needsKey('aggregate', id));
            continue;
          }
          if (!readInputsAt(aggs, rows, 0, i, batch, ctx, what, scratch)) continue;
          const s = add(aggs, state.get(key) ?? {}, scratch, batch.timestamp);
          state.set(key, s);
          // Every slot was just set by the add: no check needed.
          for (let k = 0; k < aggs.length; k++) results.set(k, i, aggs[k]!.acc.result(s[aggs[k]!.slot]));
          keep[i] = 1;
        }
        results.write(batch, keep);
        return batch.select(keep);
      },
      async process(batch, ctx) {
        await backend.load(keysFor(batch));
        const out: StreamRecord[] = [];
        const what = `aggregate "${id}"`;
        // Indexed: a for-of here made an iterator result per record (this function awaits, and V8 did not remove them).
        for (let i = 0; i < batch.length; i++) {
          const r = batch[i]!;
          if (r.key === null) {
            ctx.deadLetter(r, needsKey('aggregate', id));
            continue;
          }
          const inputs = readInputs(aggs, r, ctx, what, scratch);
          if (inputs === FAILED) continue;
          // Changed in place: the cached value is the backend's to hand out and ours to change, as long as set() follows.
          const s = add(aggs, state.get(r.key) ?? {}, inputs, r.timestamp);
          state.set(r.key, s);
          const v = r.value;
          for (let k = 0; k < aggs.length; k++) v[aggs[k]!.name] = aggs[k]!.acc.result(s[aggs[k]!.slot]);
          out.push(r);
        }
        return out;
      },
      drainState: () => backend.drainWrites(),
      // Online: each record gets the key's aggregates as if it were added (itself included), and nothing is stored.
      async lookup(batch, ctx, view) {
        const stored = view.value<AggregateState>('aggregates', options);
        const keys: string[] = [];
        for (const r of batch) if (r.key !== null) keys.push(r.key);
        await view.load(keys);
        const out: StreamRecord[] = [];
        for (const r of batch) {
          if (r.key === null) {
            ctx.deadLetter(r, needsKey('aggregate', id));
            continue;
          }
          const inputs = readInputs(aggs, r, ctx, `aggregate "${id}"`);
          if (inputs === FAILED) continue;
          const s = addInputs(aggs, structuredClone(stored.get(r.key) ?? {}), inputs, r.timestamp);
          for (const a of aggs) r.value[a.name] = a.acc.result(s[a.slot]);
          out.push(r);
        }
        return out;
      },
    };
  },
};

/** Expression and naming checks shared by the aggregate and window steps. */
export function checkAggregates(aggregates: Record<string, object>, ctx: CheckContext, reserved: readonly string[] = []): void {
  for (const [name, spec] of Object.entries(aggregates)) {
    if (reserved.includes(name)) ctx.issue(['aggregates', name], `"${name}" is an output field of this step already; pick another name`);
    for (const [kind, src] of Object.entries(spec)) if (typeof src === 'string') ctx.expression(['aggregates', name, kind], src);
  }
}

export function requireDuration(v: string | number, what: string, id: string): number {
  const ms = parseDuration(v);
  if (ms === undefined) throw new SluiceError('INVALID_TOPOLOGY', `step "${id}": ${what} ${JSON.stringify(v)} is not a duration; ${DURATION_HELP}`, { operator: id });
  return ms;
}

export function needsKey(kind: string, id: string): SluiceError {
  return new SluiceError('INVALID_INPUT', `${kind} "${id}" needs keyed records, but this record has no key; add a keyBy step before it (an online request may also carry its key: README "Online serving")`, { operator: id });
}

/**
 * Evaluates every aggregate's input on a record. Numeric aggregates need finite numbers.
 * On a failure the record goes to the dead letter and nothing is applied (FAILED).
 */
export function readInputs(aggs: readonly CompiledAggregate[], r: StreamRecord, ctx: OperatorContext, what: string, into?: unknown[]): unknown[] | typeof FAILED {
  // `into` (one array per step, reused record after record) saves an array per record.
  const inputs: unknown[] = into ?? new Array<unknown>(aggs.length);
  for (let i = 0; i < aggs.length; i++) {
    const a = aggs[i]!;
    let v: unknown;
    try {
      v = a.expr?.evaluate(r);
    } catch (err) {
      ctx.deadLetter(r, ensureError(err, 'EXPRESSION_ERROR', { operator: ctx.operatorId }));
      return FAILED;
    }
    if (a.acc.numeric && (typeof v !== 'number' || !Number.isFinite(v))) {
      ctx.deadLetter(r, badInput(what, a, v, ctx.operatorId));
      return FAILED;
    }
    inputs[i] = v;
  }
  return inputs;
}

/**
 * readInputs for row i of a columnar batch, into `inputs`: aggregate k's input is
 * rows.at(first + k, i). Errors and non-numbers dead-letter the whole row, as for a
 * record; false then.
 */
export function readInputsAt(aggs: readonly CompiledAggregate[], rows: ColumnRows, first: number, i: number, batch: ColumnarBatch, ctx: OperatorContext, what: string, inputs: unknown[]): boolean {
  for (let k = 0; k < aggs.length; k++) {
    if (rows.isClean(first + k)) {
      inputs[k] = rows.at(first + k, i);
      continue;
    }
    const a = aggs[k]!;
    let v: unknown;
    try {
      v = rows.at(first + k, i);
    } catch (err) {
      ctx.deadLetter(batch.record(i), ensureError(err, 'EXPRESSION_ERROR', { operator: ctx.operatorId }));
      return false;
    }
    if (a.acc.numeric && (typeof v !== 'number' || !Number.isFinite(v))) {
      ctx.deadLetter(batch.record(i), badInput(what, a, v, ctx.operatorId));
      return false;
    }
    inputs[k] = v;
  }
  return true;
}

export function badInput(what: string, a: CompiledAggregate, v: unknown, operator: string): SluiceError {
  return new SluiceError('INVALID_INPUT', `${what}: ${a.acc.kind} "${a.name}" needs a number from \`${a.expr?.source}\`; got ${describeValue(v)}`, { operator });
}

/** The distinct record keys of a batch (nulls left out): a columnar batch of 16k rows often has a few hundred. */
export function keysOf(batch: StreamRecord[] | ColumnarBatch): Set<string> {
  const keys = new Set<string>();
  if (Array.isArray(batch)) {
    for (let i = 0; i < batch.length; i++) {
      const k = batch[i]!.key;
      if (k !== null) keys.add(k);
    }
  } else if (batch.keys) {
    const ks = batch.keys;
    for (let i = 0; i < ks.length; i++) {
      const k = ks[i]!;
      if (k !== null) keys.add(k);
    }
  }
  return keys;
}
