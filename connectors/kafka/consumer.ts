import type { Consumer, EachBatchPayload, IHeaders, Kafka } from 'kafkajs';
import { copartitionedAssigner } from './copartition.js';
import { ConsumerRecovery, disconnectWithin } from './recovery.js';

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
  /** Silence from kafkajs's fetch loop, while partitions are assigned, after which the consumer is replaced. Default 30 s. */
  stallMs?: number;
  /** Crashes in a row (no fetch between them) after which a crash is final. Default 10. */
  maxFailures?: number;
  /** Told when the watchdog replaces a stalled consumer, and why. */
  onStall?(why: string): void;
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
  private consumer: Consumer;
  private readonly feeds = new Map<string, Feed>();
  private assigned = new Set<string>();
  private readonly maxBuffered: number;
  private stopped = false;
  private started = false;
  private lastSign = { what: 'created', at: Date.now() };
  private watchdog: NodeJS.Timeout | undefined;
  private readonly recovery: ConsumerRecovery;
  /** After a replacement: where each partition's fetching resumes once the new consumer joins. */
  private resumeAt: Map<string, number> | undefined;
  /** Times a stalled kafkajs consumer was replaced. */
  restarts = 0;

  constructor(private readonly kafka: Kafka, private readonly o: GroupConsumerOptions) {
    this.maxBuffered = o.maxBuffered ?? 8192;
    this.consumer = this.makeConsumer();
    this.recovery = new ConsumerRecovery({
      maxFailures: o.maxFailures ?? 10,
      initialMs: o.retry?.initialRetryTime ?? 300,
      maxMs: Math.min(o.retry?.maxRetryTime ?? 10_000, 10_000),
      stopped: () => this.stopped,
      onCrash: (err, recovering) => o.onCrash?.(err, recovering),
      swap: () => this.replace(),
    });
  }

  private makeConsumer(): Consumer {
    const o = this.o;
    const c = this.kafka.consumer({
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
      // After a crash kafkajs rejoins on its own, unless this consumer was stopped or replaced meanwhile (else it would linger).
      retry: { ...(o.retry ?? {}), restartOnFailure: async () => !this.stopped && this.consumer === c },
    });
    const mine = () => this.consumer === c;
    c.on(c.events.GROUP_JOIN, (e) => {
      if (!mine()) return;
      this.progress('join');
      this.onJoin(e.payload.memberAssignment);
    });
    c.on(c.events.CRASH, (e) => {
      if (!mine()) return;
      this.progress('crash');
      if (e.payload.restart) o.onCrash?.(e.payload.error, true);
      else this.recovery.crashed(e.payload.error);
    });
    c.on(c.events.FETCH_START, () => mine() && this.progress('fetch start'));
    c.on(c.events.FETCH, () => {
      if (!mine()) return;
      this.progress('fetch');
      this.recovery.fetched();
    });
    // Batches made only of transaction markers or aborted records never reach eachBatch; their end still counts as progress.
    c.on(c.events.END_BATCH_PROCESS, (e) => {
      if (!mine()) return;
      const f = this.feeds.get(key(e.payload.topic, e.payload.partition));
      if (f) f.end = Math.max(f.end, Number(e.payload.highWatermark));
    });
    return c;
  }

  /** Notes a sign of life from kafkajs's fetch loop (for the watchdog and its report). */
  private progress(what: string): void {
    this.lastSign = { what, at: Date.now() };
  }

  async start(): Promise<void> {
    await this.run(this.consumer);
    this.started = true;
    const stallMs = this.o.stallMs ?? 30_000;
    this.watchdog = setInterval(() => this.checkStall(stallMs), Math.min(5000, stallMs / 2));
    this.watchdog.unref();
  }

  private async run(c: Consumer): Promise<void> {
    this.progress('start');
    await c.connect();
    for (const topic of this.o.topics) await c.subscribe({ topic, fromBeginning: true });
    await c.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      partitionsConsumedConcurrently: 16,
      // A replaced consumer's last batches are dropped: its successor fetches them again from `next`.
      eachBatch: async (p) => (c === this.consumer ? this.onBatch(p) : undefined),
    });
  }

  /**
   * kafkajs's fetch loop can die without a word after a broker outage (no crash event, no more
   * fetches; compare kafkajs issue #659). Its fetches come every maxWaitTime even when idle, so a
   * long silence while partitions are assigned and not paused means it stalled: the consumer is
   * replaced by a fresh one in the same group, positioned where this one stopped.
   */
  private checkStall(stallMs: number): void {
    if (this.stopped || this.recovery.busy || !this.started || this.assigned.size === 0) return;
    const silentMs = Date.now() - this.lastSign.at;
    if (silentMs < stallMs) return;
    if ([...this.assigned].every((k) => this.feeds.get(k)?.paused)) return;
    this.restarts++;
    this.o.onStall?.(`no fetch for ${Math.round(silentMs / 1000)} s (last sign of life: ${this.lastSign.what})`);
    this.recovery.swapNow();
  }

  /**
   * Swaps in a fresh kafkajs consumer (after a crash kafkajs does not restart from, see
   * ConsumerRecovery, or a stall); it resumes each partition after what was already fetched.
   */
  private async replace(): Promise<void> {
    const old = this.consumer;
    const next = this.makeConsumer();
    this.consumer = next;
    // The new consumer starts unpaused; full buffers pause it again on their next batch.
    for (const f of this.feeds.values()) f.paused = false;
    // A stalled consumer's disconnect may itself hang on what stalled it.
    await disconnectWithin(old);
    // The group's committed offsets may be older than what was fetched: the new consumer seeks past it once it joins.
    this.resumeAt = new Map([...this.feeds].filter(([, f]) => f.next >= 0).map(([k, f]) => [k, f.next]));
    if (!this.stopped) await this.run(next);
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
    // kafkajs forgets pauses when it restarts a consumer after a crash.
    for (const k of now) {
      const f = this.feeds.get(k);
      if (!f?.paused) continue;
      const [topic, p] = k.split('\u0000') as [string, string];
      this.flow('pause', topic, Number(p));
    }
    if (this.resumeAt) {
      for (const [k, offset] of this.resumeAt) {
        if (!now.has(k)) continue;
        const [topic, p] = k.split('\u0000') as [string, string];
        this.consumer.seek({ topic, partition: Number(p), offset: String(offset) });
      }
      this.resumeAt = undefined;
    }
    if (gained.length || lost.length) this.o.onAssignment(gained, lost);
  }

  private feed(topic: string, partition: number): Feed {
    const k = key(topic, partition);
    let f = this.feeds.get(k);
    if (!f) this.feeds.set(k, (f = new Feed()));
    return f;
  }

  /**
   * Pauses or resumes fetching a partition. kafkajs throws while it has no running group (between
   * a crash and its restart, or before a replacement runs); fetching is stopped then anyway, and
   * pauses are applied again at the next join.
   */
  private flow(what: 'pause' | 'resume', topic: string, partition: number): void {
    try {
      this.consumer[what]([{ topic, partitions: [partition] }]);
    } catch {
      // no running group: see above
    }
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
      this.flow('pause', topic, partition);
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
      this.flow('resume', topic, partition);
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
      this.flow('resume', topic, partition);
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
    clearInterval(this.watchdog);
    for (const f of this.feeds.values()) f.wake?.();
    await this.recovery.settled();
    await this.consumer.disconnect().catch(() => {});
  }
}
