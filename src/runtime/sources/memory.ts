import type { StreamRecord } from '../../core/record.js';
import { EMPTY_HEADERS } from '../../sinks/index.js';
import type { PollResult, SourcePartition } from './source.js';

/** An input for the test harness: a bare value, or a value with key, timestamp and headers. */
export type MemoryInput = Record<string, unknown> | { value: Record<string, unknown>; key?: string | null; timestamp?: number; headers?: Record<string, string> };

function isFull(x: MemoryInput): x is { value: Record<string, unknown>; key?: string | null; timestamp?: number; headers?: Record<string, string> } {
  return typeof x === 'object' && x !== null && 'value' in x && typeof x.value === 'object' && x.value !== null && !Array.isArray(x.value);
}

/** A bounded, single-partition source over an array (test harness). */
export class MemorySource implements SourcePartition {
  readonly partition = 0;
  private pos = 0;

  constructor(readonly source: string, private readonly inputs: MemoryInput[], private readonly now: () => number) {}

  async poll(max: number): Promise<PollResult> {
    const slice = this.inputs.slice(this.pos, this.pos + max);
    const records: StreamRecord[] = slice.map((x, i) => {
      const full = isFull(x) ? x : { value: x };
      return {
        key: full.key ?? null,
        value: structuredClone(full.value),
        timestamp: full.timestamp ?? this.now(),
        headers: full.headers ?? EMPTY_HEADERS,
        position: { source: this.source, partition: 0, offset: this.pos + i },
      };
    });
    this.pos += slice.length;
    return { records, dead: [], next: this.pos, end: slice.length === 0, bounded: true };
  }

  commitFor(): null {
    return null;
  }

  async close(): Promise<void> {}
}
