import type { StreamRecord } from '../core/record.js';
import type { Sink } from './sink.js';
import type { Transaction } from './transaction.js';

/** Collects records in memory once their checkpoint commits (test harness). */
export class MemorySink implements Sink {
  readonly records: StreamRecord[] = [];
  constructor(readonly name: string) {}

  stage(records: StreamRecord[], tx: Transaction): void {
    const copy = records.map((r) => ({ ...r, value: structuredClone(r.value) }));
    tx.pending.push(Promise.resolve().then(() => void this.records.push(...copy)));
  }

  async close(): Promise<void> {}
}
