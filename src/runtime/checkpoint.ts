import type { EmbeddedLog } from '../../connectors/embedded/index.js';
import type { DeadLetter } from '../core/record.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../metrics/registry.js';
import { SluiceError } from '../core/errors.js';
import { publishParts, stageDeadLetters, Transaction, type Sink } from '../sinks/index.js';
import { chunkRows, type BatchOutput } from './batch.js';
import type { SourcePartition } from './sources/source.js';
import { NO_POSITION } from './task.js';
import type { MemoryStateStore, StateWrite } from '../state/index.js';

/** What a job counts once a checkpoint has committed (acknowledged records). */
export interface CommitCounts {
  out: number;
  dead: number;
  bySink: Record<string, number>;
  /** Records committed to internal sinks (repartition topics), which are not outputs. */
  internal?: Record<string, number>;
}

/**
 * The commit step of a checkpoint: makes a transaction's effects (records, source positions,
 * state changes) durable as one unit, or throws and leaves none of them visible.
 */
export interface CheckpointCommitter {
  commit(tx: Transaction): Promise<void>;
}

/** Embedded mode: one atomic log write; without a log (the test harness), state goes to memory. */
export function embeddedCommitter(log: EmbeddedLog | undefined, memoryState?: MemoryStateStore): CheckpointCommitter {
  return {
    async commit(tx) {
      if (!log && memoryState) {
        memoryState.apply(tx.kv.filter((w) => w.key.startsWith('state/')));
      } else if (tx.appends.length || tx.offsets.length || tx.kv.length) {
        if (!log) throw new SluiceError('INTERNAL', 'a checkpoint has log writes but no embedded log is open');
        await log.commit({ appends: tx.appends, offsets: tx.offsets, kv: tx.kv });
      }
      if (tx.produced.length) throw new SluiceError('INTERNAL', 'a checkpoint has Kafka records but the job is not connected to Kafka');
    },
  };
}

/** The kv key holding a task's sealed-but-maybe-not-renamed parts, for roll-forward after a crash. */
export function sealedPartsKey(job: string, task: string): string {
  return `parts/${job}/${task}`;
}

/**
 * Collects one task's outputs and source position into a transaction and commits it
 * as one checkpoint: every batch when `intervalMs` is 0, else when the interval has
 * passed (and always at the end). A checkpoint: wait for sink writes, seal part
 * files, then ONE atomic log write (records, source position, the list of sealed
 * parts), then rename the parts. A crash before the write loses only uncommitted
 * work, which is read again; a crash after it is rolled forward on restart.
 */
export class TaskCheckpointer {
  private tx: Transaction;
  private next: number | undefined;
  /** When the next batch to start ends a checkpoint (see endsCheckpoint). */
  private boundaryAt: number;
  private pendingCounts: Required<CommitCounts> = { out: 0, dead: 0, bySink: {}, internal: {} };
  private afterCommit: (() => void)[] = [];
  /** Keyed-state writes drained since the last checkpoint. */
  private stateWrites: StateWrite[] = [];
  /** Checkpoints this task has committed in this run. */
  private taken = 0;

  constructor(
    private readonly o: {
      job: string;
      task: string;
      source: SourcePartition;
      sinks: ReadonlyMap<string, Sink>;
      deadLetter: string | undefined;
      /** Makes a checkpoint's effects durable as one unit (embedded log write, or a Kafka transaction). */
      committer: CheckpointCommitter;
      intervalMs: number;
      clock: Clock;
      metrics?: Metrics | undefined;
      counts: CommitCounts;
      /** Sinks whose records stay inside the job (repartition topics): counted apart from outputs. */
      internalSinks?: ReadonlySet<string>;
      /** Gets a debug line per committed checkpoint: the progress a test (or an operator) can act on. */
      logger?: Logger | undefined;
    },
  ) {
    this.tx = new Transaction(o.task);
    this.boundaryAt = o.clock.now() + o.intervalMs;
  }

  /**
   * Asked as each batch enters the chain: whether it ends a checkpoint (every batch when
   * `intervalMs` is 0, else the first batch to start once the interval has passed).
   * Deciding at the start, not when the batch is added, lets stateful steps drain their
   * state once per checkpoint instead of once per batch.
   */
  endsCheckpoint(): boolean {
    if (this.o.intervalMs === 0) return true;
    const now = this.o.clock.now();
    if (now < this.boundaryAt) return false;
    this.boundaryAt = now + this.o.intervalMs;
    return true;
  }

  /** Stages one batch's outputs (`next`: the source position after it, or NO_POSITION); commits when `ends`. */
  async add(out: BatchOutput, next: number, ends = true): Promise<void> {
    for (const [name, chunks] of out.bySink) {
      const sink = this.o.sinks.get(name)!;
      for (const chunk of chunks) {
        let rejected: DeadLetter[] | void = undefined;
        if (Array.isArray(chunk)) rejected = sink.stage(chunk, this.tx);
        else if (sink.stageColumns) sink.stageColumns(chunk, this.tx);
        else rejected = sink.stage(chunk.toRecords(), this.tx);
        // Records a sink cannot write (too large for Kafka) are dead-lettered like any bad record.
        if (rejected?.length) out.dead.push(...rejected);
        const n = chunkRows(chunk) - (rejected?.length ?? 0);
        const p = this.pendingCounts;
        if (this.o.internalSinks?.has(name)) p.internal[name] = (p.internal[name] ?? 0) + n;
        else {
          p.out += n;
          p.bySink[name] = (p.bySink[name] ?? 0) + n;
        }
      }
    }
    if (out.dead.length) {
      const dl = this.o.deadLetter;
      if (!dl) throw new SluiceError('INTERNAL', 'a record was dead-lettered but the topology names no deadLetter sink');
      stageDeadLetters(this.o.sinks.get(dl)!, out.dead, this.tx);
      this.pendingCounts.dead += out.dead.length;
    }
    for (const w of out.state) this.stateWrites.push(w);
    this.afterCommit.push(...out.afterCommit);
    if (next !== NO_POSITION) this.next = next;
    if (ends) await this.flush();
  }

  /** Whether anything is staged that the next checkpoint would commit. */
  hasPending(): boolean {
    return this.next !== undefined || !this.tx.isEmpty() || this.stateWrites.length > 0;
  }

  /** Commits whatever has been collected since the last checkpoint. */
  async flush(): Promise<void> {
    const tx = this.tx;
    const next = this.next;
    const after = this.afterCommit;
    if (next === undefined && tx.isEmpty() && !this.stateWrites.length) return;
    this.tx = new Transaction(this.o.task);
    this.afterCommit = [];
    for (const w of this.stateWrites) tx.kv.push(w);
    this.stateWrites = [];
    const started = performance.now();
    this.next = undefined;
    await Promise.all(tx.pending);
    const sealed = await Promise.all([...tx.parts].map((p) => p.seal()));
    if (next !== undefined) {
      const pos = this.o.source.commitFor(next);
      if (pos?.offsets) tx.offsets.push(...pos.offsets);
      if (pos?.kv) tx.kv.push(...pos.kv);
    }
    const partsKey = sealedPartsKey(this.o.job, this.o.task);
    if (sealed.length) tx.kv.push({ key: partsKey, value: Buffer.from(JSON.stringify(sealed)) });
    await this.o.committer.commit(tx);
    for (const f of after) f();
    await publishParts(sealed);
    const m = this.o.metrics;
    if (m) {
      const labels = { task: this.o.task };
      m.checkpointSeconds.observe(labels, (performance.now() - started) / 1000);
      let bytes = 0;
      let stateWrites = 0;
      for (const a of tx.appends) for (const r of a.records) bytes += r.value.length;
      for (const w of tx.kv) {
        bytes += w.value?.length ?? 0;
        if (w.key.startsWith('state/')) stateWrites++;
      }
      m.checkpointBytes.observe(labels, bytes);
      m.checkpointStateWrites.observe(labels, stateWrites);
    }
    const c = this.o.counts;
    const p = this.pendingCounts;
    c.out += p.out;
    c.dead += p.dead;
    for (const [k, v] of Object.entries(p.bySink)) c.bySink[k] = (c.bySink[k] ?? 0) + v;
    if (c.internal) for (const [k, v] of Object.entries(p.internal)) c.internal[k] = (c.internal[k] ?? 0) + v;
    this.pendingCounts = { out: 0, dead: 0, bySink: {}, internal: {} };
    this.taken++;
    this.o.logger?.debug(`checkpoint ${this.taken} committed`, { task: this.o.task, checkpoint: this.taken, ...(next !== undefined ? { position: next } : {}), out: p.out, dead: p.dead });
  }
}
