/** One due timer: a (key, id) pair registered for a time. */
export interface Timer {
  time: number;
  key: string;
  id: number;
}

/**
 * In-memory event-time timers, grouped by time so that thousands of keys closing the
 * same window cost one heap entry. Removal is exact; firing takes everything due, sorted
 * by (time, key, id) so the order does not depend on insertion (or on a restart).
 */
/** A key's ids at one time: one id (the common case: one window per key and end) or several. */
type Ids = number | number[];

export class TimerIndex {
  private readonly byTime = new Map<number, Map<string, Ids>>();
  private readonly heap: number[] = [];
  private count = 0;
  /** Timers per key, so callers can tell a key with nothing pending without reading its state. */
  private readonly perKey = new Map<string, number>();

  get size(): number {
    return this.count;
  }

  add(time: number, key: string, id: number): void {
    let keys = this.byTime.get(time);
    if (!keys) {
      keys = new Map();
      this.byTime.set(time, keys);
      this.push(time);
    }
    const ids = keys.get(key);
    if (ids === undefined) keys.set(key, id);
    else if (ids === id || (typeof ids !== 'number' && ids.includes(id))) return;
    else if (typeof ids === 'number') keys.set(key, [ids, id]);
    else ids.push(id);
    this.count++;
    this.perKey.set(key, (this.perKey.get(key) ?? 0) + 1);
  }

  remove(time: number, key: string, id: number): void {
    const keys = this.byTime.get(time);
    const ids = keys?.get(key);
    if (ids === undefined) return;
    if (typeof ids === 'number') {
      if (ids !== id) return;
      keys!.delete(key);
    } else {
      const i = ids.indexOf(id);
      if (i < 0) return;
      ids.splice(i, 1);
      if (!ids.length) keys!.delete(key);
    }
    this.count--;
    this.forget(key);
    // An emptied time leaves the map but stays in the heap, where peek skips it.
    if (!keys!.size) this.byTime.delete(time);
  }

  /** Whether any timer is registered for `key`. */
  hasKey(key: string): boolean {
    return this.perKey.has(key);
  }

  private forget(key: string): void {
    const n = (this.perKey.get(key) ?? 1) - 1;
    if (n > 0) this.perKey.set(key, n);
    else this.perKey.delete(key);
  }

  /** The earliest registered time, or undefined. */
  peek(): number | undefined {
    while (this.heap.length && !this.byTime.get(this.heap[0]!)?.size) this.pop();
    return this.heap[0];
  }

  /** Removes and returns every timer with time <= upTo. */
  popDue(upTo: number): Timer[] {
    const out: Timer[] = [];
    for (let t = this.peek(); t !== undefined && t <= upTo; t = this.peek()) {
      this.pop();
      const keys = this.byTime.get(t)!;
      this.byTime.delete(t);
      // The default sort orders strings by UTF-16 code units, as `<` does, without a comparator call per comparison.
      const sorted = [...keys.keys()].sort();
      for (const key of sorted) {
        const ids = keys.get(key)!;
        if (typeof ids === 'number') {
          out.push({ time: t, key, id: ids });
          this.forget(key);
          continue;
        }
        for (const id of [...ids].sort((a, b) => a - b)) {
          out.push({ time: t, key, id });
          this.forget(key);
        }
      }
    }
    this.count -= out.length;
    return out;
  }

  private push(t: number): void {
    const h = this.heap;
    h.push(t);
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (h[p]! <= h[i]!) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (!h.length) return;
    h[0] = last;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && h[l]! < h[m]!) m = l;
      if (r < h.length && h[r]! < h[m]!) m = r;
      if (m === i) break;
      [h[m], h[i]] = [h[i]!, h[m]!];
      i = m;
    }
  }
}
