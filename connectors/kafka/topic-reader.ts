// Reads a topic's partitions up to the ends they had when asked, for `sluice topics consume`.
import type { Consumer, Kafka } from 'kafkajs';
import { SluiceError } from '../../src/core/errors.js';
import type { KafkaConnection } from './config.js';
import { kafkaError } from './sluice-error.js';
import type { IncomingRecord, PartitionOffsets } from './topic-ops.js';

/**
 * Every partition from `o.offset` (or its start, if later) to its `end` in `partitions`,
 * read_committed, at most `o.max` records, through consumer group `groupId`, which commits
 * nothing. kafkajs has no assign-only consumer, so the group is joined and the partitions
 * sought. Returns the count handed to `onRecords`.
 */
export async function readToEnd(
  kafka: Kafka,
  conn: KafkaConnection,
  groupId: string,
  name: string,
  partitions: PartitionOffsets[],
  o: { offset: number; max: number; timeoutMs?: number },
  onRecords: (records: IncomingRecord[]) => void,
): Promise<number> {
  const pending = new Map<number, number>(); // partition → end offset still to reach
  for (const p of partitions) if (Math.max(o.offset, p.start) < p.end) pending.set(p.partition, p.end);
  if (!pending.size || o.max <= 0) return 0;

  const consumer: Consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 250, allowAutoTopicCreation: false });
  let read = 0;
  const timeoutMs = o.timeoutMs ?? 60_000;
  const call = async <T>(action: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw kafkaError(err, conn, action);
    }
  };
  try {
    await call('connecting a consumer', () => consumer.connect());
    await call(`subscribing to topic "${name}"`, () => consumer.subscribe({ topics: [name], fromBeginning: true }));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new SluiceError('DEADLINE_EXCEEDED', `reading topic "${name}": ${read} record(s) in ${timeoutMs / 1000} s, partitions ${[...pending.keys()].join(', ')} not yet at their end`)), timeoutMs);
      const finish = (err?: unknown) => {
        clearTimeout(timer);
        if (err) reject(kafkaError(err, conn, `reading topic "${name}"`));
        else resolve();
      };
      const reached = (partition: number, lastOffset: number) => {
        const end = pending.get(partition);
        if (end !== undefined && lastOffset >= end - 1) pending.delete(partition);
        if (!pending.size || read >= o.max) finish();
      };
      // Batches holding only transaction markers or aborted records reach eachBatch empty-handed (or not at all); their end still counts.
      consumer.on(consumer.events.END_BATCH_PROCESS, (e) => reached(e.payload.partition, Number(e.payload.lastOffset)));
      consumer.on(consumer.events.CRASH, (e) => {
        if (!e.payload.restart) finish(e.payload.error);
      });
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const out: IncomingRecord[] = [];
            const end = pending.get(batch.partition);
            for (const m of batch.messages) {
              const offset = Number(m.offset);
              if (offset < o.offset || end === undefined || offset >= end || read + out.length >= o.max) continue;
              out.push({ partition: batch.partition, offset, key: m.key?.toString() ?? null, timestamp: Number(m.timestamp), value: m.value?.toString() ?? '' });
            }
            read += out.length;
            if (out.length) onRecords(out);
            if (batch.messages.length) reached(batch.partition, Number(batch.messages[batch.messages.length - 1]!.offset));
          },
        })
        .catch(finish);
      // Applied when the partitions are assigned.
      for (const p of partitions) if (pending.has(p.partition)) consumer.seek({ topic: name, partition: p.partition, offset: String(Math.max(o.offset, p.start)) });
    });
    return read;
  } finally {
    await consumer.disconnect().catch(() => {});
  }
}
