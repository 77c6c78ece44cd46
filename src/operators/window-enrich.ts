import { mergeStates, type AggregateState, type CompiledAggregate } from '../state/accumulators.js';

/** A fired window of one key, kept for `emit: enrich` (its accumulators, not its results). */
export interface ClosedWindow {
  end: number;
  acc: AggregateState;
}

/** x mod m, always in [0, m). */
function floorMod(x: number, m: number): number {
  return ((x % m) + m) % m;
}

/**
 * The end of the latest window (of `sizeMs`, starting every `slideMs`, aligned to the
 * epoch) that ends at or before `t`: the window a record at `t` is enriched from. When
 * size is a multiple of slide (tumbling windows included) this is
 * floor(t / slide) * slide, the start of the record's current slide.
 */
export function enrichEnd(t: number, sizeMs: number, slideMs: number): number {
  const x = t - sizeMs;
  return x - floorMod(x, slideMs) + sizeMs;
}

/**
 * Fired windows older than this can no longer be read: a record is accepted only while
 * its latest window [S, S + size) is open (S + size + allowedLateness > watermark), and it
 * reads the window ending at E > t - slide >= S - slide, so E > watermark - size - slide
 * - allowedLateness.
 */
export function closedHorizon(watermark: number, sizeMs: number, slideMs: number, allowedLatenessMs: number): number {
  return watermark - sizeMs - slideMs - allowedLatenessMs;
}

/**
 * A key's kept fired windows after one more fires: sorted by end, a window that fires
 * again with the same end (re-formed after `onEnd` closed it early) merged into the old
 * entry, and entries at or before `horizon` dropped. `list` is changed in place and
 * returned (a new list when it is undefined). `w` is moved in, not copied: the caller
 * has removed the fired window from the pending ones, so nothing else holds (or will add
 * to) its accumulators, which accumulators may change in place. A merged entry gets new
 * accumulators (mergeStates), so a kept window never shares state with another.
 */
export function keepClosed(aggs: readonly CompiledAggregate[], list: ClosedWindow[] | undefined, w: ClosedWindow, horizon: number): ClosedWindow[] {
  const out = list ?? [];
  let n = 0;
  for (let i = 0; i < out.length; i++) if (out[i]!.end > horizon) out[n++] = out[i]!;
  // (setting length is a slow builtin call even when it changes nothing)
  if (n < out.length) out.length = n;
  if (w.end <= horizon) return out;
  // Sorted by end and fired mostly in end order: the place is almost always the end.
  let at = n;
  while (at > 0 && out[at - 1]!.end >= w.end) at--;
  if (at < n && out[at]!.end === w.end) out[at] = { end: w.end, acc: mergeStates(aggs, out[at]!.acc, w.acc) };
  else if (at === n) out.push(w);
  else out.splice(at, 0, w);
  return out;
}

/** Whether a stored value is a list of closed windows (guards against a damaged store). */
export function isClosedList(x: unknown): x is ClosedWindow[] {
  return Array.isArray(x) && x.every((c) => typeof c === 'object' && c !== null && typeof (c as ClosedWindow).end === 'number' && typeof (c as ClosedWindow).acc === 'object' && (c as ClosedWindow).acc !== null);
}
