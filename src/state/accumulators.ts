import { Type, type Static } from '@sinclair/typebox';
import { compileExpression, type Expression } from '../expr/index.js';
import { SluiceError } from '../core/errors.js';

const Expr = Type.String({ minLength: 1 });
const closed = { additionalProperties: false } as const;

/** One aggregate: `{ count: {} }`, or `{ sum | avg | min | max | last: "<expression>" }`. */
export const AggregateSchema = Type.Union([
  Type.Object({ count: Type.Object({}, closed) }, closed),
  Type.Object({ sum: Expr }, closed),
  Type.Object({ avg: Expr }, closed),
  Type.Object({ min: Expr }, closed),
  Type.Object({ max: Expr }, closed),
  Type.Object({ last: Expr }, closed),
]);
/** Output field name → aggregate. */
export const AggregatesSchema = Type.Record(Type.String({ minLength: 1 }), AggregateSchema, { minProperties: 1 });
export type AggregateConfig = Static<typeof AggregateSchema>;
export type AggregatesConfig = Static<typeof AggregatesSchema>;

export type AccumulatorKind = 'count' | 'sum' | 'avg' | 'min' | 'max' | 'last';

/**
 * A mergeable aggregate over JSON state. `add` and `merge` return the new state (states
 * are numbers or small arrays). `add` may change an array state in place and return it
 * (avg does: an array per add was three allocations per record in a 3-window step), so a
 * state passed to `add` must not be shared with another window or key; `merge` never
 * changes its inputs and returns a new array where it builds one. `last` keeps the value of the greatest event
 * time (the later arrival on ties), so merging sessions and replaying out-of-order input
 * give the same answer.
 */
export interface Accumulator<S = unknown> {
  readonly kind: AccumulatorKind;
  /** Whether inputs must be finite numbers. */
  readonly numeric: boolean;
  init(): S;
  add(s: S, v: unknown, eventTime: number): S;
  merge(a: S, b: S): S;
  result(s: S): unknown;
  /** Whether a stored value is a state of this accumulator. */
  isState(s: unknown): s is S;
}

const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isNumOrNull = (x: unknown): x is number | null => x === null || isNum(x);

const count: Accumulator<number> = { kind: 'count', numeric: false, init: () => 0, add: (s) => s + 1, merge: (a, b) => a + b, result: (s) => s, isState: isNum };
const sum: Accumulator<number> = { kind: 'sum', numeric: true, init: () => 0, add: (s, v) => s + (v as number), merge: (a, b) => a + b, result: (s) => s, isState: isNum };
const avg: Accumulator<[number, number]> = {
  kind: 'avg',
  numeric: true,
  init: () => [0, 0],
  add: (s, v) => {
    s[0] += v as number;
    s[1] += 1;
    return s;
  },
  merge: (a, b) => [a[0] + b[0], a[1] + b[1]],
  result: (s) => (s[1] ? s[0] / s[1] : null),
  isState: (s): s is [number, number] => Array.isArray(s) && s.length === 2 && isNum(s[0]) && isNum(s[1]),
};
const min: Accumulator<number | null> = {
  kind: 'min',
  numeric: true,
  init: () => null,
  add: (s, v) => (s === null || (v as number) < s ? (v as number) : s),
  merge: (a, b) => (a === null ? b : b === null ? a : Math.min(a, b)),
  result: (s) => s,
  isState: isNumOrNull,
};
const max: Accumulator<number | null> = {
  kind: 'max',
  numeric: true,
  init: () => null,
  add: (s, v) => (s === null || (v as number) > s ? (v as number) : s),
  merge: (a, b) => (a === null ? b : b === null ? a : Math.max(a, b)),
  result: (s) => s,
  isState: isNumOrNull,
};
/** [eventTime, value] of the latest record, or null. */
type LastState = [number, unknown] | null;
const last: Accumulator<LastState> = {
  kind: 'last',
  numeric: false,
  init: () => null,
  add: (s, v, t) => (s === null || t >= s[0] ? [t, v ?? null] : s),
  merge: (a, b) => (a === null ? b : b === null ? a : b[0] >= a[0] ? b : a),
  result: (s) => (s === null ? null : s[1]),
  isState: (s): s is LastState => s === null || (Array.isArray(s) && s.length === 2 && isNum(s[0])),
};

export const ACCUMULATORS: Readonly<Record<AccumulatorKind, Accumulator>> = { count, sum, avg, min, max, last } as Record<AccumulatorKind, Accumulator>;

/** A configured aggregate, ready to run. */
export interface CompiledAggregate {
  /** The output field. */
  readonly name: string;
  readonly acc: Accumulator;
  /** What it reads (none for count). */
  readonly expr: Expression | undefined;
  /** Where its state lives in an AggregateState: `kind:name`, so changing an aggregate's kind starts it afresh. */
  readonly slot: string;
}

/** The states of a set of aggregates (JSON), by slot. */
export type AggregateState = Record<string, unknown>;

export function compileAggregates(config: AggregatesConfig): CompiledAggregate[] {
  return Object.entries(config).map(([name, spec]) => {
    const [kind, src] = Object.entries(spec)[0] as [AccumulatorKind, unknown];
    return { name, acc: ACCUMULATORS[kind], expr: typeof src === 'string' ? compileExpression(src) : undefined, slot: `${kind}:${name}` };
  });
}

/** Adds one record's inputs (in aggregate order) to a state, in place. */
export function addInputs(aggs: readonly CompiledAggregate[], state: AggregateState, inputs: readonly unknown[], eventTime: number): AggregateState {
  for (let i = 0; i < aggs.length; i++) {
    const a = aggs[i]!;
    state[a.slot] = a.acc.add(slotOf(a, state), inputs[i], eventTime);
  }
  return state;
}

/**
 * addInputs for a state this process made, or read and then checked with checkState: the
 * per-add check of the stored slot is skipped (it was most of an add's cost).
 */
export function addInputsOwned(aggs: readonly CompiledAggregate[], state: AggregateState, inputs: readonly unknown[], eventTime: number): AggregateState {
  for (let i = 0; i < aggs.length; i++) {
    const a = aggs[i]!;
    const s = state[a.slot];
    state[a.slot] = a.acc.add(s === undefined ? a.acc.init() : s, inputs[i], eventTime);
  }
  return state;
}

/** Throws STATE_CORRUPT unless every aggregate's slot of a stored state is absent or a state of its kind. */
export function checkState(aggs: readonly CompiledAggregate[], state: AggregateState): void {
  for (const a of aggs) slotOf(a, state);
}

/** Merges two states into a new one. */
export function mergeStates(aggs: readonly CompiledAggregate[], x: AggregateState, y: AggregateState): AggregateState {
  const out: AggregateState = {};
  for (const a of aggs) out[a.slot] = a.acc.merge(slotOf(a, x), slotOf(a, y));
  return out;
}

/** One aggregate's result from a state. */
export function resultOf(a: CompiledAggregate, state: AggregateState): unknown {
  return a.acc.result(slotOf(a, state));
}

/** Output field → result. */
export function results(aggs: readonly CompiledAggregate[], state: AggregateState): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of aggs) out[a.name] = a.acc.result(slotOf(a, state));
  return out;
}

function slotOf(a: CompiledAggregate, state: AggregateState): unknown {
  if (!Object.hasOwn(state, a.slot)) return a.acc.init();
  const s = state[a.slot];
  if (!a.acc.isState(s)) {
    throw new SluiceError('STATE_CORRUPT', `stored state of aggregate "${a.name}" (${a.acc.kind}) is not a ${a.acc.kind} state: ${JSON.stringify(s)}. Delete the data directory or rerun with --fresh to start the state over`);
  }
  return s;
}
