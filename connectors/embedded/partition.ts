/**
 * In-memory state of one partition: its offset counters, the readers waiting for
 * new records, and the batch the last read stopped inside.
 */
import type { BatchCursor } from './codec.js';

interface Waiter { offset: number; done: (ok: boolean) => void }

export interface PartitionState {
  /** Next offset to hand out (includes writes still in flight). */
  next: number;
  /** Next offset readers may see: everything below it is durable. */
  end: number;
  /** Records in the last batch written or read: how many batches a read asks LevelDB for. */
  batchHint: number;
  waiters: Set<Waiter>;
  /** The batch the last read stopped inside, if any (see BatchCursor). */
  cursor: BatchCursor | undefined;
}

export function newPartition(next: number): PartitionState {
  return { next, end: next, batchHint: 1, waiters: new Set(), cursor: undefined };
}

/** Called by the write path after `end` moved: wakes the waiters it satisfies. */
export function wake(part: PartitionState): void {
  if (part.waiters.size === 0) return;
  for (const w of part.waiters) if (part.end > w.offset) w.done(true);
}

export function wakeAll(part: PartitionState, ok: boolean): void {
  for (const w of part.waiters) w.done(ok);
}

/** Resolves true once `end > offset` (via wake), false on timeout, abort or wakeAll(false). */
export function waitFor(part: PartitionState, offset: number, timeoutMs: number, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const onAbort = (): void => waiter.done(false);
    const timer = setTimeout(onAbort, timeoutMs);
    const waiter: Waiter = {
      offset,
      done: (ok) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        part.waiters.delete(waiter);
        resolve(ok);
      },
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    part.waiters.add(waiter);
  });
}
