import type { Consumer, EachBatchPayload, IHeaders, Kafka } from 'kafkajs';
import { copartitionedAssigner } from './copartition.js';

/** A fetched record, bytes-level. */
export interface FetchedMessage {
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers: Record<string, string>;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface GroupConsumerOptions {
  groupId: string;
  topics: string[];
  /** Messages buffered per partition before fetching it pauses (backpressure). Default 8192. */
  maxBuffered?: number;
  /** Told after each rebalance what this member gained and lost. Called in order, never concurrently with itself. */
  onAssignment(assigned: TopicPartition[], revoked: TopicPartition[]): void;
  /** The consumer crashed; `restarting`: kafkajs rejoins on its own after a retriable failure. */
  onCrash?(err: Error, restarting: boolean): void;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** Longest a fetch waits on the broker for data. Default 100 ms (low latency; the broker answers at once when there is data). */
  maxWaitTimeMs?: number;
  /** Read aborted and open transactions' records too. Default false (read_committed). */
  readUncommitted?: boolean;
  /**
   * Topic pairs [from, to]: records fetched on `from` partition p wake a `take` waiting on
   * `to` partition p (a task that reads both sees the first without waiting out its poll).
   */
  wakeLinks?: [string, string][];
  /** The client's retry settings (kafkajs takes a consumer's retry options whole). */
  retry?: { retries: number; initialRetryTime: number; maxRetryTime: number };
}

/** Shared by every record without headers (most), so those allocate no object; never written to. */
const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** A record's headers as text (the first value of a repeated header). */
function textHeaders(h: IHeaders): Record<string, string> {
  let out: Record<string, string> | undefined;
  for (const k in h) {
    const v = h[k];
    if (v !== undefined) (out ??= {})[k] = Array.isArray(v) ? String(v[0]) : v.toString();
  }
  return out ?? NO_HEADERS;
}

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/** One partition's fetched-but-not-taken records. */
class Feed {
  chunks: FetchedMessage[][] = [];
  head = 0;
  size = 0;
  /** Records below this offset are dropped (already taken, or before a seek). -1: not positioned yet. */
  next = -1;
  /** The log end seen by the last fetch (high watermark, or the last stable offset under read_committed). */
  end = -1;
  paused = false;
  wake: (() => void) | undefined;
}

/**
 * A kafkajs consumer-group member whose records are pulled per partition: `eachBatch` only
 * buffers (so fetching never waits on processing), a partition whose buffer is full is paused
 * and resumed once it drains, and assignments are reported as gained/lost lists. Offsets are
 * never committed automatically; the owner commits them (or sends them in a transaction).
 */
export class GroupConsumer {
  readonly consumer: Consumer;
  private readonly feeds = new Map<string, Feed>();
  private assigned = new Set<string>();
  private readonly maxBuffered: number;
  private stopped = false;

  constructor(kafka: Kafka, private readonly o: GroupConsumerOptions) {
    this.maxBuffered = o.maxBuffered ?? 8192;
    this.consumer = kafka.consumer({
      groupId: o.groupId,
      sessionTimeout: o.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: o.heartbeatIntervalMs ?? 1000,
      maxWaitTimeInMs: o.maxWaitTimeMs ?? 100,
      readUncommitted: o.readUncommitted ?? false,
      // Larger fetches than kafkajs's defaults: fewer round trips per record.
      maxBytesPerPartition: 4 * 1024 * 1024,
      maxBytes: 32 * 1024 * 1024,
      // Partition p of every topic to one member: co-partitioned topics meet in one task.
      partitionAssigners: [copartitionedAssigner],
      // After a crash kafkajs rejoins on its own, unless this consumer was stopped meanwhile (else it would linger).
      retry: { ...(o.retry ?? {}), restartOnFailure: async () => !this.stopped },
    });
    const c = this.consumer;
    c.on(c.events.GROUP_JOIN, (e) => this.onJoin(e.payload.memberAssignment));
    c.on(c.events.CRASH, (e) => {
      const err = e.payload.error;
      o.onCrash?.(err, e.payload.restart);
    });
    // Batches made only of transaction markers or aborted records never reach eachBatch; their end still counts as progress.
    c.on(c.events.END_BATCH_PROCESS, (e) => {
      const f = this.feeds.get(key(e.payload.topic, e.payload.partition));
      if (f) f.end = Math.max(f.end, Number(e.payload.highWatermark));
    });
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    for (const topic of this.o.topics) await this.consumer.subscribe({ topic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      partitionsConsumedConcurrently: 16,
      eachBatch: (p) => this.onBatch(p),
    });
  }

  private onJoin(assignment: Record<string, number[]>): void {
    const now = new Set<string>();
    const list: TopicPartition[] = [];
    for (const [topic, parts] of Object.entries(assignment)) {
      for (const partition of parts) {
        now.add(key(topic, partition));
        list.push({ topic, partition });
      }
    }
    const gained = list.filter((tp) => !this.assigned.has(key(tp.topic, tp.partition)));
    const lost: TopicPartition[] = [];
    for (const k of this.assigned) {
      if (now.has(k)) continue;
      const [topic, p] = k.split('\u0000') as [string, string];
      lost.push({ topic, partition: Number(p) });
      const f = this.feeds.get(k);
      this.feeds.delete(k);
      f?.wake?.();
    }
    this.assigned = now;
    if (gained.length || lost.length) this.o.onAssignment(gained, lost);
  }

  private feed(topic: string, partition: number): Feed {
    const k = key(topic, partition);
    let f = this.feeds.get(k);
    if (!f) this.feeds.set(k, (f = new Feed()));
    return f;
  }

  private async onBatch({ batch, heartbeat }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    if (!this.assigned.has(key(topic, partition))) return;
    const f = this.feed(topic, partition);
    f.end = Math.max(f.end, Number(batch.highWatermark));
    const chunk: FetchedMessage[] = [];
    for (const m of batch.messages) {
      const offset = Number(m.offset);
      if (f.next >= 0 && offset < f.next) continue;
      chunk.push({ offset, key: m.key, value: m.value, timestamp: Number(m.timestamp), headers: m.headers ? textHeaders(m.headers) : NO_HEADERS });
      f.next = offset + 1;
    }
    if (chunk.length) {
      f.chunks.push(chunk);
      f.size += chunk.length;
      f.wake?.();
      for (const [from, to] of this.o.wakeLinks ?? []) if (from === topic) this.feeds.get(key(to, partition))?.wake?.();
    }
    if (f.size >= this.maxBuffered && !f.paused) {
      f.paused = true;
      this.consumer.pause([{ topic, partitions: [partition] }]);
    }
    // Long hand-overs must not cost the membership: heartbeat inside the batch (kafkajs throttles it to the interval).
    await heartbeat();
  }

  /**
   * Positions a partition: records before `offset` are dropped and fetching restarts there.
   * Call once a partition is assigned, before taking from it.
   */
  seek(topic: string, partition: number, offset: number): void {
    const f = this.feed(topic, partition);
    f.chunks = [];
    f.head = 0;
    f.size = 0;
    f.next = offset;
    this.consumer.seek({ topic, partition, offset: String(offset) });
    if (f.paused) {
      f.paused = false;
      this.consumer.resume([{ topic, partitions: [partition] }]);
    }
  }

  /** Up to `max` buffered records of a partition, waiting up to `waitMs` for some; [] when none came, or when the partition was lost. */
  async take(topic: string, partition: number, max: number, waitMs: number, signal: AbortSignal): Promise<FetchedMessage[]> {
    const k = key(topic, partition);
    let f = this.feeds.get(k);
    if (!f || f.size === 0) {
      if (signal.aborted || this.stopped || !this.assigned.has(k)) return [];
      await new Promise<void>((resolve) => {
        const feed = f ?? this.feed(topic, partition);
        f = feed;
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          feed.wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, waitMs);
        signal.addEventListener('abort', done, { once: true });
        feed.wake = done;
      });
      f = this.feeds.get(k);
      if (!f || f.size === 0) return [];
    }
    const out: FetchedMessage[] = [];
    while (out.length < max && f.chunks.length) {
      const first = f.chunks[0]!;
      const n = Math.min(max - out.length, first.length - f.head);
      for (let i = 0; i < n; i++) out.push(first[f.head + i]!);
      f.head += n;
      if (f.head >= first.length) {
        f.chunks.shift();
        f.head = 0;
      }
    }
    f.size -= out.length;
    if (f.paused && f.size <= this.maxBuffered / 2) {
      f.paused = false;
      this.consumer.resume([{ topic, partitions: [partition] }]);
    }
    return out;
  }

  /** Records between what the partition's owner has taken and the log end (buffered ones included); undefined before the first fetch. */
  lag(topic: string, partition: number, takenTo: number): number | undefined {
    const f = this.feeds.get(key(topic, partition));
    if (!f || f.end < 0) return undefined;
    return Math.max(0, f.end - takenTo);
  }

  /** Records fetched and not yet taken from a partition. */
  buffered(topic: string, partition: number): number {
    return this.feeds.get(key(topic, partition))?.size ?? 0;
  }

  isAssigned(topic: string, partition: number): boolean {
    return this.assigned.has(key(topic, partition));
  }

  /** Commits positions for the group (at-least-once; exactly-once sends them in the transaction instead). */
  async commit(offsets: { topic: string; partition: number; offset: number }[]): Promise<void> {
    if (!offsets.length) return;
    await this.consumer.commitOffsets(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: String(o.offset) })));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const f of this.feeds.values()) f.wake?.();
    await this.consumer.disconnect().catch(() => {});
  }
}
