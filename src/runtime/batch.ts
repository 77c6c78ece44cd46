import type { DeadLetter, StreamRecord } from '../core/record.js';

/** What one source micro-batch became after the operator chain: records per sink and dead letters. */
export class BatchOutput {
  readonly bySink = new Map<string, StreamRecord[]>();
  readonly dead: DeadLetter[] = [];

  emit(sink: string, records: StreamRecord[]): void {
    const list = this.bySink.get(sink);
    if (list) for (const r of records) list.push(r);
    else this.bySink.set(sink, records.slice());
  }

  recordsOut(): number {
    let n = 0;
    for (const list of this.bySink.values()) n += list.length;
    return n;
  }
}

export function toDeadLetter(record: StreamRecord, code: string, message: string, operator: string): DeadLetter {
  const dl: DeadLetter = { error: { code, message, operator }, position: record.position, key: record.key, timestamp: record.timestamp };
  if (record.raw !== undefined) dl.raw = record.raw;
  else dl.value = record.value;
  return dl;
}
