/**
 * A cooperative priority gate between online requests and bulk work (backfills, streams)
 * in one process. Priority in the ModelRunner's queue alone is not enough: bulk work also
 * holds the model's worker threads with large batches and the event loop with long
 * synchronous steps, so an online request waits behind both. The ModelRunner marks the
 * gate whenever a request above priority 0 arrives; while a mark is recent, the runner
 * cuts bulk inference into small slices and keeps a worker for online work, and a task
 * loop hands its batches to the chain in small slices and yields to the event loop between
 * them. Bulk work slows down while online traffic runs, and never stops.
 */
import { performance } from 'node:perf_hooks';

export class OnlineActivity {
  private lastAt = -Infinity;
  private running = 0;
  private waiting: (() => void)[] = [];

  /**
   * @param windowMs How long after the last online request bulk work stays throttled; default
   * 2,000 ms. Online traffic comes in bursts (a load generator at a fixed rate sends each
   * second's requests at the start of the second; so do many clients): with a shorter window
   * the backfill went back to whole batches between bursts, and each burst waited behind them.
   */
  constructor(readonly windowMs = 2000) {}

  /** An online request arrived. */
  mark(): void {
    this.lastAt = performance.now();
  }

  /** True while an online request arrived within the last windowMs. */
  busy(): boolean {
    return performance.now() - this.lastAt < this.windowMs;
  }

  /** An online request started (marks the gate); call `end()` once when it is answered. */
  begin(): void {
    this.mark();
    this.running++;
  }

  end(): void {
    if (this.running > 0 && --this.running === 0) for (const wake of this.waiting.splice(0)) wake();
  }

  /** Online requests begun and not yet ended. */
  get inFlight(): number {
    return this.running;
  }

  /**
   * Resolves once no online request is in flight, or after `maxWaitMs` at most, so bulk work
   * that waits here before each slice leaves the main thread to online requests while they
   * run, and still moves on under a steady stream of them (never starves).
   */
  idle(maxWaitMs: number): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, maxWaitMs);
      const waiting = this.waiting;
      function done(): void {
        clearTimeout(timer);
        const i = waiting.indexOf(done);
        if (i >= 0) waiting.splice(i, 1);
        resolve();
      }
      waiting.push(done);
    });
  }
}

/** The process's gate: every ModelRunner and task uses it unless given another. */
export const onlineActivity = new OnlineActivity();
