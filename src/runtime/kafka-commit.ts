import type { EmbeddedLog, KvWrite } from '../../connectors/embedded/index.js';
import { errorText, isFenced, type GroupConsumer, type IdempotentWriter, type OutRecord, type TransactionalWriter } from '../../connectors/kafka/index.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../metrics/registry.js';
import type { Transaction } from '../sinks/index.js';
import type { CheckpointCommitter } from './checkpoint.js';

/** The partition moved to another instance (our transactional producer was fenced): stop the task quietly, commit nothing more. */
export class PartitionLostError extends Error {
  constructor(readonly task: string, options?: { cause?: unknown }) {
    super(`task ${task}: the partition is now owned by another instance (producer fenced)`, options);
    this.name = 'PartitionLostError';
  }
}

export type Guarantee = 'atLeastOnce' | 'exactlyOnce';

/** The compacted topic that carries one stateful step's store. */
export function changelogTopic(topology: string, stepId: string): string {
  return `${topology}-${stepId}-changelog`;
}

/** Local kv key: the next changelog offset the local state cache of (task, step) has applied. */
export function changelogPositionKey(topology: string, task: string, stepId: string): string {
  return `clpos/${topology}/${task}/${stepId}`;
}

export interface RetryPolicy {
  attempts: number;
  initialMs: number;
  maxMs: number;
}

/** Runs `fn`, retrying with doubling backoff; fenced producers are not retried. Each retry is logged and counted. */
export async function withRetries<T>(what: string, policy: RetryPolicy, deps: { logger: Logger; metrics?: Metrics | undefined; operation: string }, fn: (attempt: number) => Promise<T>): Promise<T> {
  let delay = policy.initialMs;
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await fn(attempt);
      if (attempt > 1) deps.logger.info(`${what} succeeded on attempt ${attempt}`);
      return result;
    } catch (err) {
      if (isFenced(err) || err instanceof PartitionLostError || attempt >= policy.attempts) throw err;
      deps.metrics?.kafkaRetries.inc({ operation: deps.operation });
      deps.logger.warn(`${what} failed (${errorText(err)}); retrying in ${delay} ms (attempt ${attempt + 1} of ${policy.attempts})`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(policy.maxMs, delay * 2);
    }
  }
}

export interface KafkaCommitterOptions {
  guarantee: Guarantee;
  topology: string;
  group: string;
  task: string;
  /** The input partition: every changelog record of this task goes to the same partition number. */
  partition: number;
  /** exactlyOnce: this task's transactional producer (id per input partition); made anew after a failed transaction. */
  transactional?: { current: TransactionalWriter; renew(): Promise<TransactionalWriter> };
  /** atLeastOnce: the job's idempotent producer and the group consumer that commits offsets. */
  idempotent?: { writer: IdempotentWriter; consumer?: GroupConsumer | undefined };
  /** exactlyOnce: the group's committed offset of an input partition, to learn whether an interrupted transaction committed. */
  committedOffset?: (topic: string, partition: number) => Promise<number | undefined>;
  /** The local state cache (written after Kafka has the checkpoint). */
  log: EmbeddedLog;
  retry: RetryPolicy;
  logger: Logger;
  metrics?: Metrics | undefined;
}

/**
 * Kafka mode's checkpoint commit. exactlyOnce: one transaction holding the outputs, the dead
 * letters, the changelog records of the task's state changes and the consumed offsets; after it
 * commits, the local state cache and its changelog positions are written. atLeastOnce: the same
 * records sent with an idempotent producer and acknowledged, then the offsets committed, then
 * the local cache. A failed attempt is retried with backoff (a transaction is aborted first,
 * so its records stay invisible to read_committed readers).
 */
export class KafkaCheckpointCommitter implements CheckpointCommitter {
  private readonly statePrefix: string;

  constructor(private readonly o: KafkaCommitterOptions) {
    this.statePrefix = `state/${o.topology}/${o.task}/`;
  }

  async commit(tx: Transaction): Promise<void> {
    const o = this.o;
    const changelog: OutRecord[] = [];
    const local: KvWrite[] = [];
    const perStep = new Map<string, number>();
    for (const w of tx.kv) {
      local.push(w);
      if (!w.key.startsWith(this.statePrefix)) continue;
      const rest = w.key.slice(this.statePrefix.length);
      const step = rest.slice(0, rest.indexOf('/'));
      // Keys keep the task in them, so one changelog partition can carry several sources' tasks.
      changelog.push({ topic: changelogTopic(o.topology, step), partition: o.partition, key: `${o.task}/${rest}`, value: w.value === undefined ? null : w.value });
      perStep.set(step, (perStep.get(step) ?? 0) + 1);
    }
    const records = tx.produced.length ? (changelog.length ? [...tx.produced, ...changelog] : tx.produced) : changelog;
    const offsets = tx.offsets.map((x) => ({ topic: x.topic, partition: x.partition, offset: x.offset }));
    if (records.length || offsets.length) {
      const meta = o.guarantee === 'exactlyOnce' ? await this.commitTransaction(records, offsets) : await this.commitAtLeastOnce(records, offsets);
      // Where each step's changelog now ends: the local cache is that far along.
      for (const m of meta) {
        const step = [...perStep.keys()].find((s) => changelogTopic(o.topology, s) === m.topicName);
        if (step === undefined || m.partition !== o.partition) continue;
        local.push({ key: changelogPositionKey(o.topology, o.task, step), value: String(Number(m.baseOffset) + perStep.get(step)!) });
      }
    }
    if (local.length || tx.appends.length) await o.log.commit({ appends: tx.appends, kv: local });
  }

  private async commitTransaction(records: OutRecord[], offsets: { topic: string; partition: number; offset: number }[]) {
    const t = this.o.transactional!;
    try {
      return await withRetries(`checkpoint of task ${this.o.task} (transaction)`, this.o.retry, { logger: this.o.logger, metrics: this.o.metrics, operation: 'transaction' }, async (attempt) => {
        // A failed transaction was aborted and the producer can go on (e.g. CONCURRENT_TRANSACTIONS while the last
        // commit's markers are written); when the abort failed too, a new producer with the same id settles it.
        if (attempt > 1 && t.current.broken) {
          t.current = await t.renew();
          // The failed transaction may have committed after all (the broker went away while answering EndTxn); once the new
          // producer is initialised it is settled either way, and our offsets in the group say which: never send it twice.
          if (offsets.length && this.o.committedOffset) {
            const done = await Promise.all(offsets.map(async (x) => (await this.o.committedOffset!(x.topic, x.partition)) === x.offset));
            if (done.every(Boolean)) {
              this.o.logger.info(`checkpoint of task ${this.o.task}: the interrupted transaction had committed; not sending it again`);
              return [];
            }
          }
        }
        return t.current.commit(records, { group: this.o.group, offsets });
      });
    } catch (err) {
      if (isFenced(err)) throw new PartitionLostError(this.o.task, { cause: err });
      throw err;
    }
  }

  private async commitAtLeastOnce(records: OutRecord[], offsets: { topic: string; partition: number; offset: number }[]) {
    const a = this.o.idempotent!;
    const deps = { logger: this.o.logger, metrics: this.o.metrics };
    const meta = await withRetries(`checkpoint of task ${this.o.task} (produce)`, this.o.retry, { ...deps, operation: 'produce' }, () => a.writer.send(records));
    const consumer = a.consumer;
    if (!consumer || !offsets.length) return meta;
    await withRetries(`checkpoint of task ${this.o.task} (offset commit)`, this.o.retry, { ...deps, operation: 'offset-commit' }, async () => {
      // A partition this member no longer owns: its new owner starts from the last commit; repeating outputs is at-least-once.
      const owned = offsets.filter((x) => consumer.isAssigned(x.topic, x.partition));
      if (owned.length < offsets.length) throw new PartitionLostError(this.o.task);
      await consumer.commit(owned);
    });
    return meta;
  }
}
