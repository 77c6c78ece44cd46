import { SluiceError } from '../core/errors.js';
import type { AggregateState } from '../state/accumulators.js';

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
  readonly starts: number[] = [];
  readonly wins: PendingWindow[] = [];

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

  /** Replaces the window at `start`, or adds it last. */
  set(start: number, w: PendingWindow): void {
    const i = this.indexOf(start);
    if (i >= 0) this.wins[i] = w;
    else {
      this.starts.push(start);
      this.wins.push(w);
    }
  }

  delete(start: number): void {
    const i = this.indexOf(start);
    if (i < 0) return;
    this.starts.splice(i, 1);
    this.wins.splice(i, 1);
  }

  toJSON(): StoredPending {
    const out: StoredPending = {};
    for (let i = 0; i < this.starts.length; i++) out[String(this.starts[i])] = this.wins[i]!;
    return out;
  }
}
