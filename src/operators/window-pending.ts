import { SluiceError } from '../core/errors.js';
import { checkState, type AggregateState, type CompiledAggregate } from '../state/accumulators.js';
import { aggregatePacker } from '../state/aggregate-codec.js';
import type { StateCodec } from '../state/backend.js';

/** A window of one key that has not been emitted yet. */
export interface PendingWindow {
  end: number;
  acc: AggregateState;
  /** Key fields from the window's first record; absent without `keyFields` (the result then gets `key`). */
  fields?: Record<string, unknown>;
}

/** How a key's pending windows are stored: {window start (as text): window}. */
export type StoredPending = Record<string, PendingWindow>;

/**
 * A key's pending windows in memory: starts and windows in two small arrays (a key has
 * a few windows at a time), in the order they were opened. Looking a window up is a
 * scan of a few numbers, where an object keyed by start text made every record format
 * numbers and every opened or removed window reshape a dictionary. It is stored as
 * before (toJSON gives the same object, same key order), so state written by earlier
 * versions reads back unchanged and vice versa.
 */
export class KeyWindows {
  // Replaced (not only changed) by set and delete: see there.
  starts: number[];
  wins: PendingWindow[];

  constructor(starts: number[] = [], wins: PendingWindow[] = []) {
    this.starts = starts;
    this.wins = wins;
  }

  /** From the stored form; `what` names the state for the error on a damaged value. */
  static from(stored: unknown, what: string): KeyWindows {
    if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) {
      throw new SluiceError('STATE_CORRUPT', `${what}: stored pending windows are not an object of {start: {end, acc}}: ${JSON.stringify(stored)}. Delete the data directory or rerun with --fresh to start the state over`);
    }
    const k = new KeyWindows();
    for (const f in stored) {
      k.starts.push(Number(f));
      k.wins.push((stored as StoredPending)[f]!);
    }
    return k;
  }

  get size(): number {
    return this.starts.length;
  }

  get(start: number): PendingWindow | undefined {
    const i = this.indexOf(start);
    return i < 0 ? undefined : this.wins[i];
  }

  /**
   * Where `start` is (starts are unique), searched from the nearer end: windows open
   * mostly in start order, records add to the newest and firing takes the oldest, and a
   * key can hold dozens while a batch spans many slides.
   */
  private indexOf(start: number): number {
    const s = this.starts;
    const n = s.length;
    if (n === 0) return -1;
    return start - s[0]! <= s[n - 1]! - start ? s.indexOf(start) : s.lastIndexOf(start);
  }

  /**
   * Replaces the window at `start`, or adds it last. The first window gets arrays of one
   * (a push onto an empty array reserves 17 slots, and most keys hold one window, kept
   * for a whole window's time: those slots were a large share of what the GC copied).
   */
  set(start: number, w: PendingWindow): void {
    const i = this.indexOf(start);
    if (i >= 0) this.wins[i] = w;
    else if (this.starts.length === 0) {
      this.starts = [start];
      this.wins = [w];
    } else {
      this.starts.push(start);
      this.wins.push(w);
    }
  }

  /** Removes the window at `start`; the first and the last without the array splice makes. */
  delete(start: number): void {
    const i = this.indexOf(start);
    if (i < 0) return;
    const last = this.starts.length - 1;
    if (i === last) {
      this.starts.pop();
      this.wins.pop();
    } else if (i === 0) {
      this.starts.shift();
      this.wins.shift();
    } else {
      this.starts.splice(i, 1);
      this.wins.splice(i, 1);
    }
  }

  toJSON(): StoredPending {
    const out: StoredPending = {};
    for (let i = 0; i < this.starts.length; i++) out[String(this.starts[i])] = this.wins[i]!;
    return out;
  }
}

/**
 * The packed form of a key's pending windows (see packed.ts): how many, then per window
 * its start, end and accumulators (aggregatePacker). Windows with key fields, or with
 * accumulators that have no packed form, keep the JSON form (toJSON). JSON entries are
 * turned into KeyWindows and checked when read, so a loaded value is always KeyWindows
 * with well-formed accumulators. Undefined when the aggregates have no packed form.
 */
export function keyWindowsCodec(aggs: readonly CompiledAggregate[], what: string): StateCodec<KeyWindows | StoredPending> | undefined {
  const acc = aggregatePacker(aggs);
  if (!acc) return undefined;
  return {
    write(k, w) {
      if (!(k instanceof KeyWindows)) return false;
      const n = k.size;
      w.num(n);
      for (let i = 0; i < n; i++) {
        const win = k.wins[i]!;
        if (win.fields !== undefined) return false;
        w.num(k.starts[i]!);
        w.num(win.end);
        if (!acc.write(win.acc, w)) return false;
      }
      return true;
    },
    read(r) {
      const n = r.num();
      const starts: number[] = [];
      const wins: PendingWindow[] = [];
      for (let i = 0; i < n; i++) {
        const start = r.num();
        const end = r.num();
        const w: PendingWindow = { end, acc: acc.read(r) };
        // Arrays of one for the common single window (see KeyWindows.set).
        if (n === 1) return new KeyWindows([start], [w]);
        starts.push(start);
        wins.push(w);
      }
      return new KeyWindows(starts, wins);
    },
    fromJson(v, key) {
      const where = `${what}, key ${JSON.stringify(key)}`;
      const k = KeyWindows.from(v, where);
      for (const w of k.wins) {
        if (typeof w !== 'object' || w === null || typeof w.end !== 'number' || typeof w.acc !== 'object' || w.acc === null) {
          throw new SluiceError('STATE_CORRUPT', `${where}: a stored pending window is not {end, acc}: ${JSON.stringify(w)}. Delete the data directory or rerun with --fresh to start the state over`);
        }
        checkState(aggs, w.acc);
      }
      return k;
    },
  };
}
