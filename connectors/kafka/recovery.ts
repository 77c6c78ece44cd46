import { backoffMs, isAuthFailure, isDenied } from './errors.js';

export interface RecoveryOptions {
  /** Crashes in a row (no fetch between them) after which a crash is final. Infinity: never. */
  maxFailures: number;
  /** The wait before the first fresh consumer after a crash; it doubles per crash in a row, up to maxMs. */
  initialMs: number;
  maxMs: number;
  /** The owner has stopped (or finished): nothing more is swapped in. */
  stopped(): boolean;
  /** Told of each crash, with `recovering` false when it is final (the owner gives up). */
  onCrash(err: Error, recovering: boolean): void;
  /** Replaces the consumer with a fresh one; rejects when the fresh one cannot start. */
  swap(): Promise<void>;
}

/**
 * The crash rule of sluice's kafkajs consumers (a job's GroupConsumer, readRanges, the
 * bridge's). kafkajs rejoins by itself after errors it calls retriable, but gives up for good
 * on others that a broker restart produces ("Failed to find group coordinator"). After such a
 * crash the owner's consumer is swapped for a fresh one after a backoff. Final: refused
 * credentials or permissions, or more than `maxFailures` crashes in a row with no fetch
 * between them (the owner calls fetched() on each fetch).
 */
export class ConsumerRecovery {
  /** Crashes in a row without a fetch between them. */
  private failures = 0;
  private running: Promise<void> | undefined;
  /** A crash came while a fresh consumer was joining: swap once more after this swap. */
  private again = false;

  constructor(private readonly o: RecoveryOptions) {}

  /** A fetch came through: the count of crashes in a row starts over. */
  fetched(): void {
    this.failures = 0;
  }

  /** A swap is waiting out its backoff or starting the fresh consumer. */
  get busy(): boolean {
    return this.running !== undefined;
  }

  /** Resolves once no swap is running. */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  /** A crash kafkajs does not restart from. */
  crashed(err: Error): void {
    if (this.o.stopped()) return;
    this.failures++;
    const final = isAuthFailure(err) || isDenied(err) || this.failures > this.o.maxFailures;
    this.o.onCrash(err, !final);
    if (final) return;
    // The consumer being swapped in crashed while joining (kafkajs's run() still resolves): swap again after it.
    if (this.running) this.again = true;
    else this.swapAfter(this.delay());
  }

  /** Swaps at once, unless a swap is running (a consumer that stalled without a crash). */
  swapNow(): void {
    if (!this.running) this.swapAfter(0);
  }

  private delay(): number {
    return backoffMs(this.failures, this.o.initialMs, this.o.maxMs);
  }

  private swapAfter(delayMs: number): void {
    this.running = (async () => {
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs).unref());
      let failure: Error | undefined;
      if (!this.o.stopped()) await this.o.swap().catch((err: Error) => (failure = err));
      this.running = undefined;
      const again = this.again;
      this.again = false;
      if (failure) this.crashed(failure);
      // Its crash while joining was counted when it came.
      else if (again && !this.o.stopped()) this.swapAfter(this.delay());
    })();
  }
}

/** Disconnects a consumer that may hang on whatever broke it: waits at most `ms`. */
export async function disconnectWithin(c: { disconnect(): Promise<void> } | undefined, ms = 5000): Promise<void> {
  if (!c) return;
  await Promise.race([c.disconnect().catch(() => {}), new Promise((r) => setTimeout(r, ms).unref())]);
}
