/**
 * A bounded FIFO between two async stages. `push` waits while the queue is full
 * (backpressure); `shift` waits while it is empty and returns undefined once the
 * queue is closed and drained.
 */
export class BoundedQueue<T> {
  private items: T[] = [];
  private closed = false;
  private spaceWaiters: (() => void)[] = [];
  private itemWaiters: (() => void)[] = [];

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.items.length;
  }

  async push(item: T): Promise<void> {
    while (this.items.length >= this.capacity && !this.closed) {
      await new Promise<void>((r) => this.spaceWaiters.push(r));
    }
    if (this.closed) throw new Error('push on a closed queue');
    this.items.push(item);
    this.itemWaiters.shift()?.();
  }

  async shift(): Promise<T | undefined> {
    while (this.items.length === 0) {
      if (this.closed) return undefined;
      await new Promise<void>((r) => this.itemWaiters.push(r));
    }
    const item = this.items.shift() as T;
    this.spaceWaiters.shift()?.();
    return item;
  }

  /** No more pushes; waiting consumers drain what is left, then get undefined. */
  close(): void {
    this.closed = true;
    for (const w of this.itemWaiters.splice(0)) w();
    for (const w of this.spaceWaiters.splice(0)) w();
  }
}
