import type { Clock } from '../core/clock.js';
import type { Metrics } from '../metrics/registry.js';
import { BatchOutput, chunkRows } from './batch.js';
import { JobFailure, type OperatorChain } from './chain.js';
import { BoundedQueue } from './queue.js';
import type { SourcePartition } from './sources/source.js';

export interface TaskOptions {
  batchSize: number;
  clock: Clock;
  maxInFlight: number;
  onError: 'deadLetter' | 'fail';
  signal: AbortSignal;
  metrics?: Metrics | undefined;
  /** Takes each batch's outputs and source position, in order, and commits them in checkpoints. */
  checkpointer: { add(out: BatchOutput, next: number): Promise<void>; flush(): Promise<void> };
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
    const queue = new BoundedQueue<{ work: Promise<BatchOutput>; next: number }>(this.o.maxInFlight);
    const gauge = this.o.metrics?.taskQueueDepth;
    let failure: unknown;
    const committer = (async () => {
      try {
        for (;;) {
          const item = await queue.shift();
          if (!item) return;
          gauge?.set({ task: this.name }, queue.size);
          const out = await item.work;
          await this.o.checkpointer.add(out, item.next);
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
        if (!idle || signal) {
          const out = new BatchOutput();
          out.dead.push(...polled.dead);
          const work = this.chain.run(polled.records, out, signal);
          work.catch(() => undefined); // the committer reports it, in order
          try {
            await queue.push({ work, next: polled.next });
          } catch {
            break; // the committer failed and closed the queue
          }
          gauge?.set({ task: this.name }, queue.size);
        }
        if (polled.end) break;
      }
    } catch (err) {
      failure ??= err;
    } finally {
      queue.close();
    }
    await committer;
    if (failure !== undefined) throw failure;
    // Everything read has been processed: the last checkpoint acknowledges it.
    await this.o.checkpointer.flush();
  }
}
