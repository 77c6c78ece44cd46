/** An event-time window: [start, end) in epoch ms. */
export interface TimeWindow {
  readonly start: number;
  readonly end: number;
}

/** Assigns an event time to the windows that contain it. */
export interface WindowAssigner {
  readonly kind: 'tumbling' | 'sliding' | 'session';
  /** Windows containing `t`, earliest start first. Session windows: the record's own [t, t + gap), to be merged. */
  assign(t: number): TimeWindow[];
}

/** x mod m, always in [0, m), so windows before 1970 line up too. */
function floorMod(x: number, m: number): number {
  return ((x % m) + m) % m;
}

/** Fixed, non-overlapping windows of `sizeMs`, aligned to the epoch plus `offsetMs`. */
export function tumbling(sizeMs: number, offsetMs = 0): WindowAssigner {
  if (!(sizeMs > 0)) throw new RangeError(`tumbling window size must be positive; got ${sizeMs}`);
  return {
    kind: 'tumbling',
    assign(t) {
      const start = t - floorMod(t - offsetMs, sizeMs);
      return [{ start, end: start + sizeMs }];
    },
  };
}

/** Windows of `sizeMs` starting every `slideMs` (hopping); each time falls in about size/slide of them. */
export function sliding(sizeMs: number, slideMs: number): WindowAssigner {
  if (!(sizeMs > 0) || !(slideMs > 0) || slideMs > sizeMs) throw new RangeError(`sliding windows need 0 < slide <= size; got size ${sizeMs}, slide ${slideMs}`);
  return {
    kind: 'sliding',
    assign(t) {
      const out: TimeWindow[] = [];
      for (let start = t - floorMod(t, slideMs); start > t - sizeMs; start -= slideMs) out.push({ start, end: start + sizeMs });
      return out.reverse();
    },
  };
}

/** Session windows: a record opens [t, t + gap); sessions of one key that overlap merge. */
export function session(gapMs: number): WindowAssigner {
  if (!(gapMs > 0)) throw new RangeError(`session gap must be positive; got ${gapMs}`);
  return { kind: 'session', assign: (t) => [{ start: t, end: t + gapMs }] };
}

/**
 * Whether two windows share time. Touching windows ([0,10) and [10,20)) do not, so a
 * record exactly `gap` after the last one starts a new session, whatever the timing of
 * the watermark.
 */
export function overlaps(a: TimeWindow, b: TimeWindow): boolean {
  return a.start < b.end && b.start < a.end;
}

/** Merges `w` with the windows it overlaps: the covering window and the ones it absorbs. */
export function mergeWindow<W extends TimeWindow>(existing: Iterable<W>, w: TimeWindow): { merged: TimeWindow; absorbed: W[] } {
  let { start, end } = w;
  const absorbed: W[] = [];
  // Absorbing one window can grow the span into another: repeat until nothing changes.
  const rest = [...existing];
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = 0; i < rest.length; i++) {
      const x = rest[i]!;
      if (!overlaps(x, { start, end })) continue;
      absorbed.push(x);
      start = Math.min(start, x.start);
      end = Math.max(end, x.end);
      rest.splice(i--, 1);
      changed = true;
    }
  }
  return { merged: { start, end }, absorbed };
}
