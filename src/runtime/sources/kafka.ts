import type { GroupConsumer } from '../../../connectors/kafka/index.js';
import { DecodeFailure, jsonValueDecoder, type KeyDecoder, type ValueDecoder } from '../../../connectors/serde/index.js';
import type { DeadLetter, StreamRecord } from '../../core/record.js';
import type { Metrics } from '../../metrics/registry.js';
import { EMPTY_HEADERS } from '../../sinks/index.js';
import type { PollResult, SourcePartition } from './source.js';

/** Whether an object has an own enumerable key, without allocating a key array (once per record). */
function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}

/** How long a poll waits for fetched records before reporting an idle batch. */
const WAIT_MS = 200;

export interface KafkaPartitionSourceOptions {
  name: string;
  topic: string;
  partition: number;
  group: string;
  consumer: GroupConsumer;
  /** How values (and keys) are decoded. Default: JSON values, UTF-8 keys. */
  codecs?: { value: ValueDecoder; key?: KeyDecoder | undefined } | undefined;
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
    const valueDec = o.codecs?.value ?? jsonValueDecoder;
    const keyDec = o.codecs?.key;
    // Schema lookups for ids this batch brings (Avro): once per id, before the synchronous loop.
    const pv = valueDec.prepare?.(msgs.flatMap((m) => (m.value ? [m.value] : [])));
    if (pv) await pv;
    const pk = keyDec?.prepare?.(msgs.map((m) => m.key));
    if (pk) await pk;
    for (const m of msgs) {
      if (m.offset >= o.end) break;
      last = m.offset;
      const position = { source: this.source, partition: o.partition, offset: m.offset };
      const decoded = m.value ? valueDec.decode(m.value) : new DecodeFailure('the record has no value (null)');
      const key = keyDec ? keyDec.decode(m.key) : m.key ? m.key.toString('utf8') : null;
      const failure = decoded instanceof DecodeFailure ? decoded : key instanceof DecodeFailure ? key : undefined;
      if (failure) {
        const dl: DeadLetter = { error: { code: failure.code, message: failure.reason, operator: `source:${this.source}` }, position, key: m.key ? m.key.toString(keyDec ? 'base64' : 'utf8') : null, timestamp: m.timestamp };
        if (m.value) dl.rawBytes = m.value;
        dead.push(dl);
        continue;
      }
      const headers = hasKeys(m.headers) ? m.headers : EMPTY_HEADERS;
      records.push({ key: key as string | null, value: decoded as Record<string, unknown>, timestamp: m.timestamp, headers, position });
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
