import { GroupConsumer, IdempotentWriter, KafkaTopicAdmin, TransactionalWriter, errorText, isAuthFailure, isDenied, readRanges, type KafkaConnection, type TopicPartition } from '../../connectors/kafka/index.js';
import type { EmbeddedLog, KvWrite } from '../../connectors/embedded/index.js';
import type { Kafka } from 'kafkajs';
import { SluiceError, ensureError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../metrics/registry.js';
import type { ReplayBound, TopicSourceConfig } from '../topology/schema.js';
import type { CheckpointCommitter } from './checkpoint.js';
import { KafkaCheckpointCommitter, PartitionLostError, changelogPositionKey, changelogTopic, type Guarantee, type RetryPolicy } from './kafka-commit.js';
import { KafkaPartitionSource } from './sources/kafka.js';
import type { KeyDecoder, ValueDecoder } from '../../connectors/serde/index.js';
import type { Task, TaskOptions } from './task.js';

export interface KafkaSourceSpec {
  name: string;
  config: TopicSourceConfig;
  partitions: number;
  /** How the source's values (and keys) are decoded; default JSON. */
  codecs?: { value: ValueDecoder; key?: KeyDecoder | undefined } | undefined;
}

export interface KafkaTasksOptions {
  kafka: Kafka;
  conn: KafkaConnection;
  admin: KafkaTopicAdmin;
  topology: string;
  group: string;
  sources: KafkaSourceSpec[];
  guarantee: Guarantee;
  /** Ids of the steps that keep keyed state (each has a changelog topic). */
  statefulSteps: string[];
  log: EmbeddedLog;
  untilIdle: boolean;
  fromBackfillEnd: boolean;
  logger: Logger;
  metrics?: Metrics | undefined;
  /**
   * The request-reply bridge's requests, read by the tasks themselves: the group also
   * subscribes `topic` (co-partitioned with the first source: same partition count, and the
   * group's assignor gives partition p of both to one member), and the task of input
   * partition p answers request partition p between its batches.
   */
  requests?: TaskRequestHandler | undefined;
  /** Builds the operator chain and Task for one partition (the Job's recipe). */
  buildTask(part: KafkaPartitionSource, committer: CheckpointCommitter, signal: AbortSignal, requests?: TaskOptions['requests']): Promise<Task>;
  /** Called with every task made, so the job can count its reads. */
  onTask(task: Task): void;
}

/** A request as the bridge sends it: keyed by the entity key, with correlation, reply topic and deadline headers. */
export interface RequestMessage {
  key: string | null;
  value: string;
  headers: Record<string, string>;
}

export interface TaskRequestHandler {
  topic: string;
  /** Answers requests read by task `task` (`<source>-<partition>`), with that task's state as its batches so far left it. */
  answer(task: string, messages: RequestMessage[]): Promise<void>;
}

/** Requests a task takes at once. */
const REQUEST_BATCH = 256;

interface Running {
  source: KafkaPartitionSource;
  controller: AbortController;
  run: Promise<void>;
  writer?: TransactionalWriter | undefined;
}

const tpKey = (topic: string, p: number) => `${topic}[${p}]`;

/**
 * Runs a topology's Kafka sources as a consumer-group member: a task per assigned partition,
 * made when the group assigns it (fence its transactional id, read the group's committed
 * position, restore its state from the changelogs, then process) and finished when the group
 * takes it away (the last checkpoint commits unless another instance already fenced us).
 * `done` resolves when every partition of bounded sources has been read to its end (or on
 * stop), and rejects when a task fails.
 */
export class KafkaTasks {
  readonly done: Promise<void>;
  private readonly consumer: GroupConsumer;
  private readonly running = new Map<string, Running>();
  private readonly finished = new Set<string>();
  private readonly bySourceTopic = new Map<string, KafkaSourceSpec>();
  private readonly ranges = new Map<string, { start?: number; end: number }>();
  private idempotent: IdempotentWriter | undefined;
  private readonly stopping = new AbortController();
  private chain: Promise<void> = Promise.resolve();
  private resolveDone!: () => void;
  private rejectDone!: (e: unknown) => void;
  private readonly bounded: boolean;
  private readonly retry: RetryPolicy;
  /** Request offsets are committed one after another, never out of order. */
  private requestCommits: Promise<void> = Promise.resolve();

  constructor(private readonly o: KafkaTasksOptions) {
    for (const s of o.sources) this.bySourceTopic.set(s.config.topic, s);
    this.bounded = o.untilIdle || (!o.fromBackfillEnd && o.sources.every((s) => s.config.bounded));
    // Checkpoints outlast a broker restart: about a minute of retries with backoff on top of the client's own.
    this.retry = { attempts: Math.max(10, o.conn.retry.retries + 1), initialMs: o.conn.retry.initialRetryTimeMs, maxMs: 10_000 };
    this.done = new Promise<void>((res, rej) => {
      this.resolveDone = res;
      this.rejectDone = rej;
    });
    this.done.catch(() => undefined);
    this.consumer = new GroupConsumer(o.kafka, {
      groupId: o.group,
      topics: [...o.sources.map((s) => s.config.topic), ...(o.requests ? [o.requests.topic] : [])],
      maxBuffered: 16_384,
      ...(o.requests ? { wakeLinks: o.sources.map((s): [string, string] => [o.requests!.topic, s.config.topic]) } : {}),
      retry: { retries: o.conn.retry.retries, initialRetryTime: o.conn.retry.initialRetryTimeMs, maxRetryTime: o.conn.retry.maxRetryTimeMs },
      onAssignment: (gained, lost) => {
        this.chain = this.chain.then(() => this.rebalance(gained, lost)).catch((err: unknown) => this.fail(err));
      },
      onStall: (why) => {
        o.metrics?.kafkaRetries.inc({ operation: 'consumer' });
        o.logger.warn(`Kafka consumer of group "${o.group}" stalled (${why}); replacing it with a fresh one that rejoins the group and resumes where it stopped`);
      },
      onCrash: (err, restarting) => {
        o.metrics?.kafkaRetries.inc({ operation: 'consumer' });
        if (restarting) o.logger.warn(`Kafka consumer of group "${o.group}" failed (${errorText(err)}); it rejoins the group with backoff`);
        else {
          const code = isDenied(err) || isAuthFailure(err) ? 'KAFKA_FORBIDDEN' : 'KAFKA_UNAVAILABLE';
          o.logger.error(`Kafka consumer of group "${o.group}" stopped: ${errorText(err)}`);
          this.fail(new SluiceError(code, `Kafka consumer of group "${o.group}" stopped: ${errorText(err)}`, {}, { cause: err }));
        }
      },
    });
  }

  async start(): Promise<void> {
    await this.resolveRanges();
    if (this.bounded && this.finished.size === this.totalPartitions()) {
      this.resolveDone();
      return;
    }
    if (this.o.requests) await this.ensureRequestTopic(this.o.requests.topic);
    if (this.o.guarantee === 'atLeastOnce') {
      this.idempotent = new IdempotentWriter(this.o.kafka);
      await this.idempotent.connect();
    }
    await this.consumer.start();
  }

  /** The request topic must have the first source's partition count, or keys would land in another task's partition. */
  private async ensureRequestTopic(topic: string): Promise<void> {
    const src = this.o.sources[0]!;
    const n = await this.o.admin.ensureTopic(topic, { partitions: src.partitions, what: 'bridge request topic' });
    if (n !== src.partitions) throw new SluiceError('INVALID_TOPOLOGY', `the bridge's request topic "${topic}" has ${n} partitions but source "${src.name}" (topic "${src.config.topic}") has ${src.partitions}; they must match so a key's requests reach the task that owns its state (delete "${topic}" and sluice recreates it)`);
  }

  private totalPartitions(): number {
    return this.o.sources.reduce((n, s) => n + s.partitions, 0);
  }

  /** Bounded replays (and --until-idle) fix each partition's end, and any explicit start, when the job starts. */
  private async resolveRanges(): Promise<void> {
    for (const s of this.o.sources) {
      const topic = s.config.topic;
      const bounded = this.o.fromBackfillEnd ? undefined : s.config.bounded;
      if (!bounded && !this.o.untilIdle) continue;
      const offsets = await this.o.admin.offsets(topic);
      const committed = await this.o.admin.committed(this.o.group, topic);
      for (const p of offsets) {
        let start: number | undefined;
        let end = p.high;
        if (bounded) {
          start = committed.get(p.partition) ?? (await this.bound(s, bounded.from ?? 'earliest', p.partition, offsets, committed, 'from'));
          end = await this.bound(s, bounded.to, p.partition, offsets, committed, 'to');
        }
        this.ranges.set(tpKey(topic, p.partition), start === undefined ? { end } : { start, end });
        if (start !== undefined && start >= end) this.finished.add(tpKey(topic, p.partition));
      }
    }
  }

  private async bound(s: KafkaSourceSpec, b: ReplayBound, p: number, offsets: { partition: number; low: number; high: number }[], committed: Map<number, number>, which: string): Promise<number> {
    const where = `source "${s.name}" bounded.${which}`;
    const po = offsets.find((x) => x.partition === p)!;
    if (b === 'earliest') return po.low;
    if (b === 'latest') return po.high;
    if (b === 'committed') {
      const c = committed.get(p);
      if (c === undefined) throw new SluiceError('NOT_FOUND', `${where}: group "${this.o.group}" has no committed position on "${s.config.topic}" partition ${p}`);
      return c;
    }
    if ('offset' in b) {
      if (typeof b.offset === 'number') return Math.max(po.low, Math.min(b.offset, po.high));
      if (b.offset.length !== offsets.length) throw new SluiceError('INVALID_TOPOLOGY', `${where}.offset: topic "${s.config.topic}" has ${offsets.length} partitions but ${b.offset.length} offsets are given`);
      return Math.max(po.low, Math.min(b.offset[p]!, po.high));
    }
    const ms = typeof b.timestamp === 'number' ? b.timestamp : Date.parse(b.timestamp);
    if (!Number.isFinite(ms)) throw new SluiceError('INVALID_TOPOLOGY', `${where}.timestamp: cannot read ${JSON.stringify(b.timestamp)} as a time (use epoch ms or ISO 8601)`);
    return (await this.o.admin.offsetsForTimestamp(s.config.topic, ms)).get(p) ?? po.high;
  }

  private async rebalance(gained: TopicPartition[], lost: TopicPartition[]): Promise<void> {
    const o = this.o;
    if (lost.length) o.logger.info(`rebalance: group "${o.group}" took ${lost.map((t) => tpKey(t.topic, t.partition)).join(', ')} from this instance`);
    await Promise.all(lost.map((tp) => this.release(tp)));
    // Request partitions resume where the last owner committed (requests still inside their deadline get answered), else at the end.
    const rt = o.requests?.topic;
    const gainedRequests = gained.filter((tp) => tp.topic === rt);
    if (rt && gainedRequests.length) {
      const committed = await o.admin.committed(o.group, rt);
      const ends = await o.admin.offsets(rt);
      for (const tp of gainedRequests) this.consumer.seek(rt, tp.partition, committed.get(tp.partition) ?? ends.find((x) => x.partition === tp.partition)?.high ?? 0);
    }
    if (gained.length) o.logger.info(`rebalance: this instance now owns ${gained.map((t) => tpKey(t.topic, t.partition)).join(', ')} of group "${o.group}"`);
    for (const tp of gained) {
      if (this.stopping.signal.aborted) return;
      await this.acquire(tp);
    }
    for (const s of o.sources) o.metrics?.partitionsAssigned.set({ source: s.name }, [...this.running.keys()].filter((k) => k.startsWith(`${s.config.topic}[`)).length);
  }

  private async release(tp: TopicPartition): Promise<void> {
    const k = tpKey(tp.topic, tp.partition);
    const r = this.running.get(k);
    if (!r) return;
    r.source.lost();
    r.controller.abort();
    await r.run;
  }

  /** Fence, position, restore, then run a task for a newly assigned partition. */
  private async acquire(tp: TopicPartition): Promise<void> {
    const o = this.o;
    const k = tpKey(tp.topic, tp.partition);
    const spec = this.bySourceTopic.get(tp.topic);
    if (!spec || this.running.has(k)) return;
    if (this.finished.has(k)) return;
    // Assignments are handled in order; one that was already taken away again must not fence its new owner.
    if (!this.consumer.isAssigned(tp.topic, tp.partition)) return;
    const task = `${spec.name}-${tp.partition}`;
    let writer: TransactionalWriter | undefined;
    const txId = `sluice-${o.group}-${tp.topic}-${tp.partition}`;
    if (o.guarantee === 'exactlyOnce') {
      // initTransactions fences the previous owner's producer and settles its open transaction, so the committed offset read next is final.
      writer = new TransactionalWriter(o.kafka, txId);
      await writer.connect();
    }
    const range = this.ranges.get(k);
    let start = range?.start;
    if (start === undefined) {
      const committed = (await o.admin.committed(o.group, tp.topic)).get(tp.partition);
      if (committed !== undefined) start = committed;
      else if (o.fromBackfillEnd) throw new SluiceError('NOT_FOUND', `source "${spec.name}": group "${o.group}" has no committed position on topic "${tp.topic}" partition ${tp.partition}; run the backfill first (sluice backfill) or drop --from-backfill-end`);
      else {
        const offs = (await o.admin.offsets(tp.topic)).find((x) => x.partition === tp.partition)!;
        start = spec.config.startFrom === 'latest' ? offs.high : offs.low;
      }
    }
    if (range && start >= range.end) {
      this.markFinished(k);
      await writer?.close();
      return;
    }
    o.logger.info(`task ${task}: starts at offset ${start}${range ? ` (ends at ${range.end})` : ''}`);
    this.consumer.seek(tp.topic, tp.partition, start);
    await this.restore(task, tp.partition);
    const source = new KafkaPartitionSource({ name: spec.name, topic: tp.topic, partition: tp.partition, group: o.group, consumer: this.consumer, codecs: spec.codecs, start, end: range?.end ?? Infinity, metrics: o.metrics });
    const controller = new AbortController();
    const onStop = () => controller.abort();
    this.stopping.signal.addEventListener('abort', onStop, { once: true });
    const holder = { current: writer! };
    const committer = new KafkaCheckpointCommitter({
      guarantee: o.guarantee,
      topology: o.topology,
      group: o.group,
      task,
      partition: tp.partition,
      ...(writer
        ? {
            transactional: {
              get current() {
                return holder.current;
              },
              set current(w: TransactionalWriter) {
                holder.current = w;
              },
              renew: async () => {
                await holder.current.close();
                const w = new TransactionalWriter(o.kafka, txId);
                await w.connect();
                return w;
              },
            },
          }
        : { idempotent: { writer: this.idempotent!, consumer: this.consumer } }),
      committedOffset: async (topic, partition) => (await o.admin.committed(o.group, topic)).get(partition),
      log: o.log,
      retry: this.retry,
      logger: o.logger,
      metrics: o.metrics,
    });
    const t = await o.buildTask(source, committer, controller.signal, this.taskRequests(spec, task, tp.partition, controller.signal));
    o.onTask(t);
    const entry: Running = { source, controller, writer, run: Promise.resolve() };
    let lost = false;
    entry.run = (async () => {
      try {
        await t.run();
        if (range && !controller.signal.aborted) this.markFinished(k);
      } catch (err) {
        if (err instanceof PartitionLostError || (err as { cause?: unknown }).cause instanceof PartitionLostError) {
          o.logger.info(`task ${task}: partition moved to another instance; its last uncommitted work is left to the new owner`);
          lost = true;
        } else this.fail(err);
      } finally {
        this.stopping.signal.removeEventListener('abort', onStop);
        await t.chain.close().catch(() => undefined);
        await holder.current?.close();
        this.running.delete(k);
        // Fenced while the group still gives us the partition (a late fence from an instance that just lost it):
        // take it up again, which fences that one in turn and resumes from the committed position.
        if (lost && !this.stopping.signal.aborted && this.consumer.isAssigned(tp.topic, tp.partition)) {
          o.logger.info(`task ${task}: still assigned here; starting it again`);
          this.chain = this.chain.then(() => this.acquire(tp)).catch((e: unknown) => this.fail(e));
        }
      }
    })();
    this.running.set(k, entry);
  }

  /** What the task of input partition `partition` of the first source answers between its batches: request partition `partition`. */
  private taskRequests(spec: KafkaSourceSpec, task: string, partition: number, signal: AbortSignal): TaskOptions['requests'] {
    const o = this.o;
    const handler = o.requests;
    if (!handler || spec !== o.sources[0]) return undefined;
    const topic = handler.topic;
    return {
      pending: () => this.consumer.isAssigned(topic, partition) && this.consumer.buffered(topic, partition) > 0,
      answer: async () => {
        const msgs = await this.consumer.take(topic, partition, REQUEST_BATCH, 0, signal);
        if (!msgs.length) return;
        try {
          await handler.answer(task, msgs.map((m) => ({ key: m.key ? m.key.toString('utf8') : null, value: m.value ? m.value.toString('utf8') : 'null', headers: m.headers })));
        } catch (err) {
          // A failed answer never fails the task: its callers get 504 at their deadline.
          o.logger.warn(`task ${task}: answering ${msgs.length} bridge request(s) failed: ${errorText(err)}`);
        }
        const offset = msgs[msgs.length - 1]!.offset + 1;
        this.requestCommits = this.requestCommits.then(() => this.consumer.commit([{ topic, partition, offset }])).catch((err: unknown) => o.logger.warn(`task ${task}: committing request offsets failed: ${errorText(err)}`));
      },
    };
  }

  /** Applies the changelog records this partition's state is missing to the local cache before the task reads a record. */
  private async restore(task: string, partition: number): Promise<void> {
    const o = this.o;
    if (!o.statefulSteps.length) return;
    const started = performance.now();
    const ranges: { step: string; topic: string; partition: number; from: number; to: number }[] = [];
    for (const step of o.statefulSteps) {
      const topic = changelogTopic(o.topology, step);
      const posKey = changelogPositionKey(o.topology, task, step);
      const stored = await o.log.getKv(posKey);
      const offs = (await o.admin.offsets(topic)).find((x) => x.partition === partition);
      if (!offs) throw new SluiceError('NOT_FOUND', `changelog topic "${topic}" has no partition ${partition}; it needs at least as many partitions as the input topics (delete it to let sluice recreate it, if its state may be lost)`);
      let from = stored === undefined ? undefined : Number(stored.toString());
      if (from === undefined || from < offs.low || from > offs.high) {
        // No known position (or one from another changelog): the local cache cannot be trusted; rebuild it whole.
        await o.log.deleteKvPrefix(`state/${o.topology}/${task}/${step}/`);
        from = offs.low;
      }
      ranges.push({ step, topic, partition, from, to: offs.high });
    }
    const prefix = `${task}/`;
    let applied = 0;
    const pending: KvWrite[] = [];
    const flush = async () => {
      if (!pending.length) return;
      await o.log.commit({ kv: pending.splice(0) });
    };
    let writing = Promise.resolve();
    const onCrash = (err: Error, recovering: boolean) => {
      if (recovering) o.logger.warn(`task ${task}: the Kafka consumer restoring its state failed (${errorText(err)}); a fresh one reads on with backoff`);
    };
    await readRanges(o.kafka, o.group, ranges, (r, messages) => {
      const step = ranges.find((x) => x.topic === r.topic)!.step;
      let n = 0;
      for (const m of messages) {
        const key = m.key?.toString('utf8');
        if (!key?.startsWith(prefix)) continue;
        pending.push({ key: `state/${o.topology}/${key}`, value: m.value ?? undefined });
        n++;
      }
      applied += n;
      o.metrics?.stateRestoreRecords.inc({ task, step }, n);
      if (pending.length >= 1000) writing = writing.then(flush);
    }, { onCrash });
    await writing;
    await flush();
    await o.log.commit({ kv: ranges.map((r) => ({ key: changelogPositionKey(o.topology, task, r.step), value: String(r.to) })) });
    const secs = (performance.now() - started) / 1000;
    o.metrics?.stateRestoreSeconds.observe({ task }, secs);
    const read = ranges.filter((r) => r.to > r.from);
    if (read.length) o.logger.info(`task ${task}: restored state from changelogs (${read.map((r) => `${r.topic}[${r.partition}] ${r.from}..${r.to}`).join(', ')}): ${applied} record(s) in ${secs.toFixed(2)} s`);
  }

  private markFinished(k: string): void {
    this.finished.add(k);
    if (this.bounded && this.finished.size >= this.totalPartitions()) this.resolveDone();
  }

  private fail(err: unknown): void {
    this.rejectDone(ensureError(err));
    this.stop();
  }

  /** Stops every task (each commits its last checkpoint). */
  stop(): void {
    this.stopping.abort();
    this.resolveDone();
  }

  /** Waits for the tasks to end, then leaves the group and closes producers. */
  async close(): Promise<void> {
    this.stopping.abort();
    await this.chain.catch(() => undefined);
    await Promise.allSettled([...this.running.values()].map((r) => r.run));
    await this.requestCommits;
    await this.consumer.stop();
    await this.idempotent?.close();
  }
}
