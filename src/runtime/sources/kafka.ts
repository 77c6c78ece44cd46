import type { GroupConsumer, ValueCodec } from '../../../connectors/kafka/index.js';
import type { DeadLetter, StreamRecord } from '../../core/record.js';
import type { Metrics } from '../../metrics/registry.js';
import { EMPTY_HEADERS } from '../../sinks/index.js';
import type { PollResult, SourcePartition } from './source.js';

/** How long a poll waits for fetched records before reporting an idle batch. */
const WAIT_MS = 200;

export interface KafkaPartitionSourceOptions {
  name: string;
  topic: string;
  partition: number;
  group: string;
  consumer: GroupConsumer;
  codec: ValueCodec;
  /** The first offset to read (the consumer has been seeked there). */
  start: number;
  /** Exclusive end for a bounded replay; Infinity for a live source. */
  end: number;
  metrics?: Metrics | undefined;
}

/**
 * One assigned Kafka partition as a SourcePartition: takes what the group consumer fetched,
 * decodes it with the codec (bytes that do not decode become dead letters carrying the
 * original bytes), and reports the offsets to commit. It ends when its bounded range is read,
 * when the job stops, or when the partition is revoked (`lost()`).
 */
export class KafkaPartitionSource implements SourcePartition {
  readonly source: string;
  readonly partition: number;
  private pos: number;
  private lostFlag = false;

  constructor(private readonly o: KafkaPartitionSourceOptions) {
    this.source = o.name;
    this.partition = o.partition;
    this.pos = o.start;
  }

  /** Marks the partition as taken away: the next poll ends the task. */
  lost(): void {
    this.lostFlag = true;
  }

  async poll(max: number, signal: AbortSignal): Promise<PollResult> {
    const o = this.o;
    if (signal.aborted || this.lostFlag) return { records: [], dead: [], next: this.pos, end: true };
    if (this.pos >= o.end) return { records: [], dead: [], next: this.pos, end: true, bounded: true };
    const want = Math.min(max, o.end - this.pos);
    const msgs = await o.consumer.take(o.topic, o.partition, want, WAIT_MS, signal);
    const lag = o.consumer.lag(o.topic, o.partition, msgs.length ? msgs[msgs.length - 1]!.offset + 1 : this.pos);
    if (lag !== undefined) o.metrics?.sourceLag.set({ source: this.source, topic: o.topic, partition: String(o.partition) }, lag);
    if (!msgs.length) return { records: [], dead: [], next: this.pos, end: signal.aborted || this.lostFlag };
    const records: StreamRecord[] = [];
    const dead: DeadLetter[] = [];
    let last = this.pos;
    for (const m of msgs) {
      if (m.offset >= o.end) break;
      last = m.offset;
      const key = m.key ? m.key.toString('utf8') : null;
      const decoded = m.value ? o.codec.decode(m.value) : ({ ok: false, error: 'the record has no value (null)' } as const);
      const position = { source: this.source, partition: o.partition, offset: m.offset };
      if (!decoded.ok) {
        const dl: DeadLetter = { error: { code: 'DECODE_ERROR', message: decoded.error, operator: `source:${this.source}` }, position, key, timestamp: m.timestamp };
        if (m.value) dl.rawBytes = m.value;
        dead.push(dl);
        continue;
      }
      const headers = Object.keys(m.headers).length ? m.headers : EMPTY_HEADERS;
      records.push({ key, value: decoded.value, timestamp: m.timestamp, headers, position });
    }
    this.pos = last + 1;
    return { records, dead, next: this.pos, end: false };
  }

  commitFor(next: number) {
    return { offsets: [{ group: this.o.group, topic: this.o.topic, partition: this.o.partition, offset: next }] };
  }

  progress() {
    return Number.isFinite(this.o.end) ? { done: this.pos - this.o.start, total: this.o.end - this.o.start, unit: 'records' } : null;
  }

  async close(): Promise<void> {}
}
