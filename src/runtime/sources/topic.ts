import type { EmbeddedLog } from '../../../connectors/embedded/index.js';
import { DecodeFailure, jsonValueDecoder, type KeyDecoder, type ValueDecoder } from '../../../connectors/serde/index.js';
import { SluiceError } from '../../core/errors.js';
import type { DeadLetter, StreamRecord } from '../../core/record.js';
import { EMPTY_HEADERS } from '../../sinks/index.js';
import type { Metrics } from '../../metrics/registry.js';
import type { ReplayBound, TopicSourceConfig } from '../../topology/schema.js';
import { binaryDecodeError, decodeError, type PollResult, type SourcePartition } from './source.js';

/** How long a live source waits for new records before checking whether to stop. */
const WAIT_MS = 200;

export interface TopicSourceOptions {
  name: string;
  log: EmbeddedLog;
  config: TopicSourceConfig;
  group: string;
  untilIdle: boolean;
  /** Start at the group's committed positions and run live, ignoring `bounded` (hand-over after a backfill). */
  fromBackfillEnd?: boolean;
  /** Ignore committed positions (start the replay over). */
  fresh?: boolean;
  /** How values (and keys) are decoded. Default: JSON values, UTF-8 keys. */
  codecs?: { value: ValueDecoder; key?: KeyDecoder | undefined };
  /** Receives sluice_source_lag_records per partition. */
  metrics?: Metrics | undefined;
}

/**
 * Opens one SourcePartition per partition of an embedded topic. A live source starts at
 * the group's committed position (else startFrom); a bounded one replays [from, to),
 * resuming at the committed position when the group has one.
 */
export async function openTopicSource(o: TopicSourceOptions): Promise<SourcePartition[]> {
  const info = o.log.requireTopic(o.config.topic);
  const bounded = o.fromBackfillEnd ? undefined : o.config.bounded;
  const parts: SourcePartition[] = [];
  for (let p = 0; p < info.partitions; p++) {
    const committed = o.fresh ? undefined : await o.log.committedOffset(o.group, info.name, p);
    let start: number;
    let end = Infinity;
    if (o.fromBackfillEnd) {
      if (committed === undefined) throw new SluiceError('NOT_FOUND', `source "${o.name}": group "${o.group}" has no committed position on topic "${info.name}" partition ${p}; run the backfill first (sluice backfill) or drop --from-backfill-end`);
      start = committed;
    } else if (bounded) {
      start = committed ?? (await resolveBound(o, bounded.from ?? 'earliest', p, undefined, 'from'));
      end = await resolveBound(o, bounded.to, p, committed, 'to');
    } else {
      start = committed ?? (o.config.startFrom === 'latest' ? o.log.endOffset(info.name, p) : o.log.startOffset(info.name, p));
    }
    parts.push(new TopicPartitionSource(o, p, start, end));
  }
  return parts;
}

async function resolveBound(o: TopicSourceOptions, b: ReplayBound, p: number, committed: number | undefined, which: string): Promise<number> {
  const topic = o.config.topic;
  const where = `source "${o.name}" bounded.${which}`;
  if (b === 'earliest') return o.log.startOffset(topic, p);
  if (b === 'latest') return o.log.endOffset(topic, p);
  if (b === 'committed') {
    const c = committed ?? (await o.log.committedOffset(o.group, topic, p));
    if (c === undefined) throw new SluiceError('NOT_FOUND', `${where}: group "${o.group}" has no committed position on "${topic}" partition ${p}`);
    return c;
  }
  if ('offset' in b) {
    if (typeof b.offset === 'number') return Math.min(b.offset, o.log.endOffset(topic, p));
    const partitions = o.log.requireTopic(topic).partitions;
    if (b.offset.length !== partitions) throw new SluiceError('INVALID_TOPOLOGY', `${where}.offset: topic "${topic}" has ${partitions} partitions but ${b.offset.length} offsets are given`);
    return Math.min(b.offset[p]!, o.log.endOffset(topic, p));
  }
  const ms = typeof b.timestamp === 'number' ? b.timestamp : Date.parse(b.timestamp);
  if (!Number.isFinite(ms)) throw new SluiceError('INVALID_TOPOLOGY', `${where}.timestamp: cannot read ${JSON.stringify(b.timestamp)} as a time (use epoch ms or ISO 8601)`);
  return o.log.offsetForTimestamp(topic, p, ms);
}

class TopicPartitionSource implements SourcePartition {
  readonly source: string;
  private pos: number;
  private readonly first: number;
  private readonly value: ValueDecoder;
  private readonly key: KeyDecoder | undefined;

  constructor(private readonly o: TopicSourceOptions, readonly partition: number, start: number, private readonly end: number) {
    this.source = o.name;
    this.value = o.codecs?.value ?? jsonValueDecoder;
    this.key = o.codecs?.key;
    this.pos = start;
    this.first = start;
  }

  async poll(max: number, signal: AbortSignal): Promise<PollResult> {
    const { log, config } = this.o;
    for (;;) {
      if (signal.aborted) return { records: [], dead: [], next: this.pos, end: true };
      if (this.pos >= this.end) return { records: [], dead: [], next: this.pos, end: true, bounded: true };
      const stored = await log.read(config.topic, this.partition, this.pos, Math.min(max, this.end - this.pos));
      if (stored.length) {
        const records: StreamRecord[] = [];
        const dead: DeadLetter[] = [];
        const value = this.value;
        const keyDec = this.key;
        // Schema lookups for ids this batch brings (Avro): once per id, before the synchronous loop.
        const pv = value.prepare?.(stored.map((s) => s.value));
        if (pv) await pv;
        const pk = keyDec?.prepare?.(stored.map((s) => s.key));
        if (pk) await pk;
        for (const s of stored) {
          const v = value.decode(s.value);
          let key: string | Buffer | null | DecodeFailure = s.key;
          if (keyDec) key = keyDec.decode(s.key);
          else if (key !== null && typeof key !== 'string') key = key.toString('utf8');
          const failure = v instanceof DecodeFailure ? v : key instanceof DecodeFailure ? key : undefined;
          if (failure) {
            const k = typeof s.key === 'string' || s.key === null ? s.key : s.key.toString('base64');
            dead.push(typeof s.value === 'string'
              ? decodeError(this.source, this.partition, s.offset, k, s.timestamp, s.value, failure.reason, failure.code)
              : binaryDecodeError(this.source, this.partition, s.offset, k, s.timestamp, s.value, failure.reason, failure.code));
            continue;
          }
          records.push({ key: key as string | null, value: v as Record<string, unknown>, timestamp: s.timestamp, headers: s.headers ?? EMPTY_HEADERS, position: { source: this.source, partition: this.partition, offset: s.offset } });
        }
        this.pos = stored[stored.length - 1]!.offset + 1;
        this.o.metrics?.sourceLag.set({ source: this.source, topic: config.topic, partition: String(this.partition) }, log.endOffset(config.topic, this.partition) - this.pos);
        return { records, dead, next: this.pos, end: false };
      }
      if (this.o.untilIdle) return { records: [], dead: [], next: this.pos, end: true, bounded: true };
      // Nothing new: report idle now and then, so stateful steps can advance on processing time.
      if (!(await log.waitForAppend(config.topic, this.partition, this.pos, WAIT_MS, signal))) return { records: [], dead: [], next: this.pos, end: signal.aborted };
    }
  }

  commitFor(next: number) {
    return { offsets: [{ group: this.o.group, topic: this.o.config.topic, partition: this.partition, offset: next }] };
  }

  progress() {
    return Number.isFinite(this.end) ? { done: this.pos - this.first, total: this.end - this.first, unit: 'records' } : null;
  }

  async close(): Promise<void> {}
}
