/**
 * The request queue: one FIFO per priority, highest priority first. A plain sorted
 * array would make every enqueue/dequeue O(n) at tens of thousands of queued rows.
 */
export interface Queued {
  readonly priority: number;
  readonly enqueuedAt: number;
}

class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  get size(): number {
    return this.items.length - this.head;
  }
  push(x: T): void {
    this.items.push(x);
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
  shift(): T | undefined {
    const x = this.items[this.head];
    if (x === undefined) return undefined;
    this.items[this.head++] = undefined as T; // let it be collected
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }
  drain(): T[] {
    const out = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return out;
  }
}

export class PriorityQueue<T extends Queued> {
  private readonly buckets = new Map<number, Fifo<T>>();
  /** Priorities that have a bucket, highest first. */
  private order: number[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(x: T): void {
    let b = this.buckets.get(x.priority);
    if (!b) {
      b = new Fifo<T>();
      this.buckets.set(x.priority, b);
      this.order.push(x.priority);
      this.order.sort((a, c) => c - a);
    }
    b.push(x);
    this.count++;
  }

  /** The next item to serve: the oldest of the highest priority. */
  peek(): T | undefined {
    const p = this.order[0];
    return p === undefined ? undefined : this.buckets.get(p)!.peek();
  }

  shift(): T | undefined {
    const p = this.order[0];
    if (p === undefined) return undefined;
    const b = this.buckets.get(p)!;
    const x = b.shift();
    this.count--;
    if (b.size === 0) {
      this.buckets.delete(p);
      this.order.shift();
    }
    return x;
  }

  /** When the longest-waiting item (any priority) was enqueued; undefined when empty. */
  oldest(): number | undefined {
    let min: number | undefined;
    for (const b of this.buckets.values()) {
      const t = b.peek()?.enqueuedAt;
      if (t !== undefined && (min === undefined || t < min)) min = t;
    }
    return min;
  }

  drain(): T[] {
    const out = this.order.flatMap((p) => this.buckets.get(p)!.drain());
    this.buckets.clear();
    this.order = [];
    this.count = 0;
    return out;
  }
}
