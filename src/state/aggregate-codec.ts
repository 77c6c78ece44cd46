import { SluiceError } from '../core/errors.js';
import { checkState, type AggregateState, type CompiledAggregate } from './accumulators.js';
import type { StateCodec } from './backend.js';
import { PackError, type PackReader, type PackWriter } from './packed.js';

/** Writes and reads one AggregateState positionally: its slots in aggregate order, no names. */
export interface AggregatePacker {
  write(s: AggregateState, w: PackWriter): boolean;
  read(r: PackReader): AggregateState;
}

const COUNT_OR_SUM = 0;
const MIN_OR_MAX = 1;
const AVG = 2;

const isFinite = Number.isFinite;

/**
 * The packed form of a set of aggregates' states (see packed.ts): per aggregate, in
 * order, "absent" or its state: count and sum a number, min and max a number or null,
 * avg two numbers (sum, count). Undefined when an aggregate has no numeric state (`last`
 * keeps any value): such states stay JSON. A state holding slots of no current aggregate
 * (left by an earlier configuration) is also written as JSON, so nothing is dropped.
 * Read states have exactly the shape and checks addInputs would give them.
 */
export function aggregatePacker(aggs: readonly CompiledAggregate[]): AggregatePacker | undefined {
  if (aggs.some((a) => a.acc.kind === 'last')) return undefined;
  const slots = aggs.map((a) => a.slot);
  const kinds = aggs.map((a) => (a.acc.kind === 'avg' ? AVG : a.acc.kind === 'min' || a.acc.kind === 'max' ? MIN_OR_MAX : COUNT_OR_SUM));
  const n = slots.length;
  return {
    write(s, w) {
      let present = 0;
      for (let i = 0; i < n; i++) {
        const v = s[slots[i]!];
        if (v === undefined) {
          // An own slot holding undefined is not a state JSON can keep either: leave it to JSON.
          if (Object.hasOwn(s, slots[i]!)) return false;
          w.absent();
          continue;
        }
        present++;
        const k = kinds[i];
        if (k === AVG) {
          if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'number' || typeof v[1] !== 'number') return false;
          w.num(v[0]);
          w.num(v[1]);
        } else if (typeof v === 'number') w.num(v);
        else if (v === null && k === MIN_OR_MAX) w.numOrNull(null);
        else return false;
      }
      let own = 0;
      for (const _ in s) own++;
      return own === present;
    },
    read(r) {
      const s: AggregateState = {};
      for (let i = 0; i < n; i++) {
        if (r.absent()) continue;
        const k = kinds[i];
        if (k === AVG) {
          const sum = finite(r.num());
          s[slots[i]!] = [sum, finite(r.num())];
        } else if (k === MIN_OR_MAX) {
          const v = r.numOrNull();
          s[slots[i]!] = v === null ? null : finite(v);
        } else s[slots[i]!] = finite(r.num());
      }
      return s;
    },
  };
}

function finite(x: number): number {
  if (!isFinite(x)) throw new PackError(`an accumulator holds ${x}`);
  return x;
}

/**
 * The codec of the aggregate step's value state "aggregates" (undefined: JSON only).
 * JSON entries are checked when read, so a loaded state is always well formed.
 */
export function aggregateStateCodec(aggs: readonly CompiledAggregate[], what: string): StateCodec<AggregateState> | undefined {
  const p = aggregatePacker(aggs);
  if (!p) return undefined;
  return {
    write: (s, w) => p.write(s, w),
    read: (r) => p.read(r),
    fromJson: (v, key) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) {
        throw new SluiceError('STATE_CORRUPT', `${what}, key ${JSON.stringify(key)}: stored aggregate state is not an object: ${JSON.stringify(v)}. Delete the data directory or rerun with --fresh to start the state over`);
      }
      checkState(aggs, v as AggregateState);
      return v as AggregateState;
    },
  };
}
