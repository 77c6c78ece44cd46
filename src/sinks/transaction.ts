import type { LogAppend, OffsetCommit } from '../../connectors/embedded/index.js';

/**
 * One checkpoint's worth of effects. Log appends and source offsets are committed
 * together in one atomic write; sinks outside the log (files, stdout) write as they
 * stage and add a promise that must settle before that commit.
 */
export class Transaction {
  readonly appends: LogAppend[] = [];
  readonly offsets: OffsetCommit[] = [];
  readonly pending: Promise<void>[] = [];
}
