import type { KvWrite, LogAppend, OffsetCommit } from '../../connectors/embedded/index.js';
import type { OutRecord } from '../../connectors/kafka/index.js';

/** A part file written under a temporary name, renamed to its final name once its checkpoint commits. */
export interface PartFile {
  /** Finishes the file under its temporary name (all bytes on disk); resolves with both names. */
  seal(): Promise<{ temp: string; final: string }>;
}

/**
 * One checkpoint's worth of effects for one task. Log appends (or Kafka records), source
 * positions and kv writes commit together (see CheckpointCommitter); part files are sealed before that
 * commit and renamed after it; other sinks (stdout) add promises that must settle first.
 */
export class Transaction {
  readonly appends: LogAppend[] = [];
  readonly offsets: OffsetCommit[] = [];
  readonly kv: KvWrite[] = [];
  /** Records for Kafka topics: produced in the checkpoint's Kafka transaction (exactlyOnce) or acknowledged before it commits offsets (atLeastOnce). */
  readonly produced: OutRecord[] = [];
  readonly pending: Promise<void>[] = [];
  readonly parts = new Set<PartFile>();

  /** `task` names the task that owns this transaction (part files are per task). */
  constructor(readonly task: string) {}

  /**
   * Adds a write the checkpoint must wait for. Its failure surfaces there (as the job's
   * error), which may be seconds later: until then it must not count as an unhandled
   * rejection, which would kill the process with a stack trace and no summary.
   */
  track(p: Promise<void>): void {
    p.catch(() => {});
    this.pending.push(p);
  }

  isEmpty(): boolean {
    return !this.appends.length && !this.produced.length && !this.offsets.length && !this.kv.length && !this.pending.length && !this.parts.size;
  }
}
