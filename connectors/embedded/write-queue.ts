/**
 * The one write path of the embedded log: a FIFO with group commit.
 *
 * Callers push the LevelDB operations of one logical write. While a `db.batch()`
 * is in flight, later pushes accumulate; when it returns, everything accumulated
 * is written as the next single batch. So concurrent commits cost one LevelDB
 * write between them, and writes reach the disk in the order offsets were handed
 * out. `onDurable` callbacks run in push order after their batch is written: that
 * is where the log makes new offsets visible.
 *
 * A `barrier` job (deleting a topic) runs alone, after everything pushed before it.
 *
 * If a batch fails, every write still queued fails too: their offsets were handed
 * out after the failed ones, and writing them would leave a hole. `onFailure` then
 * lets the log roll its counters back to what is durable.
 */
import { SluiceError } from '../../src/core/errors.js';

/**
 * One LevelDB operation. Kv entries pass their key (and text values) as strings with
 * per-operation utf8 encodings: LevelDB's binding converts them natively, which is
 * cheaper than building a Buffer per key in JS.
 */
export type WriteOp =
  | { type: 'put'; key: Buffer; value: Buffer }
  | { type: 'del'; key: Buffer }
  | { type: 'put'; key: string; value: string | Buffer; keyEncoding: 'utf8'; valueEncoding: 'utf8' | 'buffer' }
  | { type: 'del'; key: string; keyEncoding: 'utf8' };

interface WriteEntry {
  ops: WriteOp[];
  onDurable: (() => void) | undefined;
  onFailed: (() => void) | undefined;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface JobEntry {
  job: () => Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

type Entry = WriteEntry | JobEntry;

export class WriteQueue {
  private queue: Entry[] = [];
  private running = false;
  private idle: (() => void)[] = [];

  constructor(
    private readonly write: (ops: WriteOp[]) => Promise<void>,
    private readonly describe: string,
    private readonly onFailure: () => void,
  ) {}

  push(ops: WriteOp[], onDurable?: () => void, onFailed?: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ ops, onDurable, onFailed, resolve, reject });
      this.kick();
    });
  }

  barrier(job: () => Promise<void>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.kick();
    });
  }

  /** Resolves once everything pushed so far has been written (or failed). */
  drain(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private kick(): void {
    if (this.running) return;
    this.running = true;
    // setImmediate rather than writing at once: commits issued by several tasks in
    // the same turn of the event loop then share the first batch too.
    setImmediate(() => void this.loop());
  }

  private async loop(): Promise<void> {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      if ('job' in head) {
        this.queue.shift();
        try {
          await head.job();
          head.resolve();
        } catch (err) {
          head.reject(storageError(err, this.describe));
        }
        continue;
      }
      let n = 0;
      while (n < this.queue.length && !('job' in this.queue[n]!)) n++;
      const group = this.queue.splice(0, n) as WriteEntry[];
      const ops = group.length === 1 ? group[0]!.ops : group.flatMap((e) => e.ops);
      try {
        if (ops.length > 0) await this.write(ops);
      } catch (err) {
        this.failAll(group, storageError(err, this.describe));
        continue;
      }
      for (const e of group) e.onDurable?.();
      for (const e of group) e.resolve();
    }
    this.running = false;
    for (const resolve of this.idle.splice(0)) resolve();
  }

  private failAll(group: WriteEntry[], err: SluiceError): void {
    // Barrier jobs (topic deletes) hold no offsets: they stay queued and still run.
    const rest = this.queue.filter((e): e is WriteEntry => !('job' in e));
    this.queue = this.queue.filter((e) => 'job' in e);
    for (const e of [...group, ...rest]) {
      e.onFailed?.();
      e.reject(err);
    }
    this.onFailure();
  }
}

function storageError(err: unknown, describe: string): SluiceError {
  if (err instanceof SluiceError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SluiceError('STORAGE_ERROR', `${describe}: write failed (${message})`, {}, { cause: err });
}
