import type { DeadLetter, StreamRecord } from '../core/record.js';
import type { Sink } from './sink.js';
import type { Transaction } from './transaction.js';

/** Turns error envelopes into records for whatever sink receives dead letters. */
export function stageDeadLetters(sink: Sink, dead: DeadLetter[], tx: Transaction): void {
  if (!dead.length) return;
  if (sink.stageDeadLetters) return sink.stageDeadLetters(dead, tx);
  const records: StreamRecord[] = dead.map((d) => ({
    key: d.key,
    value: envelope(d),
    timestamp: d.timestamp,
    headers: { 'sluice-error-code': d.error.code },
    position: d.position,
  }));
  sink.stage(records, tx);
}

/** The JSON envelope of a dead letter: original bytes (Avro, Kafka) as base64 text, since JSON has no bytes. */
function envelope(d: DeadLetter): Record<string, unknown> {
  if (!d.rawBytes) return d as unknown as Record<string, unknown>;
  const { rawBytes, ...rest } = d;
  return { ...rest, rawBase64: rawBytes.toString('base64') };
}
