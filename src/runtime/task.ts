import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Clock } from '../core/clock.js';
import { ColumnarBatch } from '../core/columns.js';
import { onlineActivity, type OnlineActivity } from '../core/online-activity.js';
import type { Metrics } from '../metrics/registry.js';
import { BatchOutput, chunkRows, type Chunk } from './batch.js';
import { JobFailure, type OperatorChain } from './chain.js';
import { BoundedQueue } from './queue.js';
import type { SourcePartition } from './sources/source.js';

/** A checkpoint addition that moves no source position (see TaskCheckpointer.add). */
export const NO_POSITION = -1;

export interface TaskOptions {
  batchSize: number;
  clock: Clock;
  maxInFlight: number;
  onError: 'deadLetter' | 'fail';
  signal: AbortSignal;
  metrics?: Metrics | undefined;
  /**
   * Takes each batch's outputs and source position, in order, and commits them in
   * checkpoints. `endsCheckpoint()` is asked as each batch starts; a batch it says yes to
   * is committed (with the state drained after it) as soon as it is added.
   */
  checkpointer: { endsCheckpoint(): boolean; hasPending(): boolean; add(out: BatchOutput, next: number, ends: boolean): Promise<void> };
  /**
   * Requests this task answers between its batches (the request-reply bridge on Kafka): when
   * `pending()`, the task waits for every batch it has read so far to be processed, then
   * `answer()` reads the state they built, before the next batch starts. So a request sees
   * exactly the input read before it, never half a batch.
   */
  requests?: { pending(): boolean; answer(): Promise<void> } | undefined;
  /**
   * The online gate (core/online-activity.ts; default the process's). While it is busy, each
   * polled batch enters the chain in slices of at most `sliceRows` rows and the loop yields
   * to the event loop between slices, so online requests in the same process never wait
   * behind a whole large batch of synchronous work.
   */
  activity?: OnlineActivity | undefined;
  /** Rows per slice while the online gate is busy; default 256. */
  sliceRows?: number | undefined;
  /**
   * While the gate is busy, each slice first waits for the online requests in flight to be
   * answered, for at most this long (so bulk work always moves on); default 5 ms, 0 for no wait.
   */
  onlineWaitMs?: number | undefined;
}

/** Splits a polled chunk into slices of at most `n` rows (the chunk itself when it is small). */
function slices(c: Chunk, n: number): Chunk[] {
  const rows = chunkRows(c);
  if (rows <= n) return [c];
  const out: Chunk[] = [];
  for (let i = 0; i < rows; i += n) out.push(c instanceof ColumnarBatch ? c.range(i, Math.min(rows, i + n)) : c.slice(i, i + n));
  return out;
}

/**
 * Reads one source partition and pushes its micro-batches through the chain. A
 * poller starts each batch's processing and a committer writes results in source
 * order; the queue between them bounds the batches in flight (backpressure).
 */
export class Task {
  readonly name: string;
  recordsRead = 0;

  constructor(readonly source: SourcePartition, readonly chain: OperatorChain, private readonly o: TaskOptions) {
    this.name = `${source.source}[${source.partition}]`;
  }

  async run(): Promise<void> {
    const queue = new BoundedQueue<{ work: Promise<BatchOutput>; next: number; ends: boolean }>(this.o.maxInFlight);
    const gauge = this.o.metrics?.taskQueueDepth;
    const gate = this.o.activity ?? onlineActivity;
    let failure: unknown;
    let lastWork: Promise<unknown> = Promise.resolve();
    const committer = (async () => {
      try {
        for (;;) {
          const item = await queue.shift();
          if (!item) return;
          gauge?.set({ task: this.name }, queue.size);
          const out = await item.work;
          await this.o.checkpointer.add(out, item.next, item.ends);
        }
      } catch (err) {
        failure = err;
        queue.close();
      }
    })();
    try {
      while (failure === undefined) {
        const polled = await this.source.poll(this.o.batchSize, this.o.signal);
        this.recordsRead += chunkRows(polled.records) + polled.dead.length;
        if (polled.dead.length && this.o.onError === 'fail') {
          const d = polled.dead[0]!;
          throw new JobFailure('DECODE_ERROR', `source "${d.position.source}" partition ${d.position.partition} offset ${d.position.offset}: ${d.error.message}`);
        }
        const idle = !chunkRows(polled.records) && !polled.dead.length;
        // Stateful steps hear about idle time and about the end of a bounded input as a batch of their own, in order.
        const signal = !this.chain.wantsTicks ? undefined : polled.end ? (polled.bounded ? { end: true as const } : undefined) : idle ? { tick: this.o.clock.now() } : undefined;
        // While idle, an empty batch ends a checkpoint that is due, so what was staged does not wait for more input.
        const run = !idle || signal !== undefined;
        const ends = (run || this.o.checkpointer.hasPending()) && this.o.checkpointer.endsCheckpoint();
        if (run || ends) {
          // While online requests are recent, the batch goes in slices; only the last moves
          // the source position and may end the checkpoint, so a checkpoint never commits
          // half a polled batch.
          const parts = run && gate.busy() ? slices(polled.records, this.o.sliceRows ?? 256) : [polled.records];
          for (let i = 0; i < parts.length && failure === undefined; i++) {
            const last = i === parts.length - 1;
            const out = new BatchOutput();
            if (i === 0) out.dead.push(...polled.dead);
            const work = this.chain.run(parts[i]!, out, last ? signal : undefined, last && ends);
            work.catch(() => undefined); // the committer reports it, in order
            lastWork = work.catch(() => undefined);
            try {
              await queue.push({ work, next: last ? polled.next : NO_POSITION, ends: last && ends });
            } catch {
              break; // the committer failed and closed the queue
            }
            gauge?.set({ task: this.name }, queue.size);
            if (!last) await this.yieldToOnline(gate);
          }
          if (failure !== undefined) break;
        }
        // Between batches, let waiting online requests (sockets, timers) run first.
        if (gate.busy()) await this.yieldToOnline(gate);
        if (polled.end) break;
        if (this.o.requests?.pending()) {
          await lastWork;
          await this.o.requests.answer();
        }
      }
    } catch (err) {
      failure ??= err;
    } finally {
      queue.close();
    }
    await committer;
    if (failure !== undefined) throw failure;
    // Everything read has been processed: the last checkpoint acknowledges it, with the
    // state changes of the batches since the last drain.
    const rest = new BatchOutput();
    this.chain.drainAll(rest);
    await this.o.checkpointer.add(rest, NO_POSITION, true);
  }

  /**
   * Lets online requests in this process go first: waits (bounded) while any is in flight, so
   * the main thread is theirs, then yields one event-loop turn so sockets and timers run.
   */
  private async yieldToOnline(gate: OnlineActivity): Promise<void> {
    const wait = this.o.onlineWaitMs ?? 5;
    if (wait > 0 && gate.inFlight > 0) await gate.idle(wait);
    await nextTurn();
  }
}
