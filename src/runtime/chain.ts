import type { Clock } from '../core/clock.js';
import { SluiceError } from '../core/errors.js';
import { ColumnarBatch } from '../core/columns.js';
import type { Metrics } from '../metrics/registry.js';
import type { Operator, OperatorContext } from '../operators/index.js';
import { processAdapted } from './adapt.js';
import { BatchOutput, chunkRows, toDeadLetter, type Chunk } from './batch.js';

/** Records through one step, summed over a job's tasks. */
export interface OperatorCounts {
  in: number;
  out: number;
  deadLettered: number;
}

/** Thrown by ctx.deadLetter when the topology says onError: fail. */
export class JobFailure extends SluiceError {}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * Runs one task's operators over its micro-batches. Several batches may be in the
 * chain at once (so scoring overlaps with reading and writing), but each operator
 * that is not marked `concurrent` sees batches one at a time and in order: a batch
 * reserves its turn at every operator when it enters the chain.
 */
export class OperatorChain {
  private readonly tails: Promise<void>[];

  constructor(
    private readonly ops: Operator[],
    private readonly opts: { onError: 'deadLetter' | 'fail'; clock: Clock; metrics?: Metrics | undefined; counts?: Map<string, OperatorCounts>; stateCommitted?: (opId: string) => (() => void) | undefined },
  ) {
    this.tails = ops.map(() => Promise.resolve());
  }

  async open(): Promise<void> {
    for (const op of this.ops) await op.open?.();
  }

  async close(): Promise<void> {
    for (const op of this.ops) await op.close?.();
  }

  /**
   * Runs a batch through every step. With `signal`, steps with `onTick` (processing
   * time, the source is idle) or `onEnd` (a bounded input is exhausted) are called after
   * their batch work, and what they return flows on through the later steps.
   *
   * `drain` (default true): this batch ends a checkpoint, so stateful steps hand over
   * their state changes after it. Otherwise changes stay in the steps' caches, where a
   * key written by several batches is written once, and a window that opens and fires
   * in between never at all.
   */
  async run(records: Chunk, out: BatchOutput = new BatchOutput(), signal?: { tick: number } | { end: true }, drain = true): Promise<BatchOutput> {
    const turns = this.ops.map((op, k) => {
      if (isConcurrent(op)) return null;
      const prev = this.tails[k]!;
      const mine = deferred();
      this.tails[k] = mine.promise;
      return { prev, mine };
    });
    let batch: Chunk = records;
    try {
      for (let k = 0; k < this.ops.length; k++) {
        const op = this.ops[k]!;
        const turn = turns[k];
        // Stateful steps start reading this batch's keys while earlier batches finish.
        if (op.prefetch && chunkRows(batch)) op.prefetch(batch);
        if (turn) await turn.prev;
        const m = this.opts.metrics;
        const c = this.countsOf(op.id);
        const n = chunkRows(batch);
        c.in += n;
        m?.recordsIn.inc({ operator: op.id }, n);
        m?.operatorBatchSize.observe({ operator: op.id }, n);
        if (n) {
          const ctx = this.context(op, out, c);
          if (batch instanceof ColumnarBatch) {
            if (op.processColumns) batch = await op.processColumns(batch, ctx);
            else if (op.columnar) batch = await processAdapted(op as Operator & { columnar: NonNullable<Operator['columnar']> }, batch, ctx);
            else batch = await op.process(batch.toRecords(), ctx);
          }
          else batch = await op.process(batch, ctx);
        }
        if (signal) {
          const ctx = this.context(op, out, c);
          const extra = 'tick' in signal ? await op.onTick?.(signal.tick, ctx) : await op.onEnd?.(ctx);
          if (extra?.length) batch = [...(batch instanceof ColumnarBatch ? batch.toRecords() : batch), ...extra];
        }
        c.out += chunkRows(batch);
        m?.recordsOut.inc({ operator: op.id }, chunkRows(batch));
        // Drained in batch order (stateful steps are never concurrent), so these are exactly
        // the changes of the batches up to this one since the last drain.
        if (drain) this.drainInto(op, out);
        turn?.mine.resolve();
      }
    } finally {
      for (const t of turns) t?.mine.resolve();
    }
    return out;
  }

  /**
   * Hands over every stateful step's changes not drained yet. Only when no batch is in
   * the chain (the task has finished its batches), so the changes match what was read.
   */
  drainAll(out: BatchOutput): void {
    for (const op of this.ops) this.drainInto(op, out);
  }

  private drainInto(op: Operator, out: BatchOutput): void {
    if (!op.drainState) return;
    const writes = op.drainState();
    for (const w of writes) out.state.push(w);
    const done = this.opts.stateCommitted?.(op.id);
    if (done) out.afterCommit.push(done);
  }

  /** True when some step wants idle ticks or the end-of-input signal. */
  get wantsTicks(): boolean {
    return this.ops.some((op) => op.onTick || op.onEnd);
  }

  private countsOf(id: string): OperatorCounts {
    const all = this.opts.counts;
    if (!all) return { in: 0, out: 0, deadLettered: 0 };
    let c = all.get(id);
    if (!c) all.set(id, (c = { in: 0, out: 0, deadLettered: 0 }));
    return c;
  }

  private context(op: Operator, out: BatchOutput, counts: OperatorCounts): OperatorContext {
    const { onError, clock, metrics } = this.opts;
    return {
      operatorId: op.id,
      clock,
      deadLetter(record, err) {
        if (onError === 'fail') throw new JobFailure(err.code, `step "${op.id}" failed on record at ${record.position.source}[${record.position.partition}]@${record.position.offset}: ${err.message}`, { operator: op.id }, { cause: err });
        metrics?.recordsDeadLettered.inc({ operator: op.id, code: err.code });
        counts.deadLettered++;
        out.dead.push(toDeadLetter(record, err.code, err.message, op.id));
      },
      emit(sink, recs) {
        out.emit(sink, recs);
      },
    };
  }
}

function isConcurrent(op: Operator): boolean {
  return op.concurrent === true;
}
