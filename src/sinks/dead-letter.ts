import type { DeadLetter, StreamRecord } from '../core/record.js';
import type { Sink } from './sink.js';
import type { Transaction } from './transaction.js';

/** Turns error envelopes into records for whatever sink receives dead letters. */
export function stageDeadLetters(sink: Sink, dead: DeadLetter[], tx: Transaction): void {
  if (!dead.length) return;
  if (sink.stageDeadLetters) return sink.stageDeadLetters(dead, tx);
  const records: StreamRecord[] = dead.map((d) => ({
    key: d.key,
    value: d as unknown as Record<string, unknown>,
    timestamp: d.timestamp,
    headers: { 'sluice-error-code': d.error.code },
    position: d.position,
  }));
  sink.stage(records, tx);
}
