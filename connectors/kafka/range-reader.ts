import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { FetchedMessage } from './consumer.js';

export interface PartitionRange {
  topic: string;
  partition: number;
  /** First offset to read. */
  from: number;
  /** Stop once the read position reaches this offset (exclusive). */
  to: number;
}

/**
 * Reads fixed offset ranges, read_committed, and returns once every range is read to its end.
 * kafkajs has no standalone (assign-only) consumer, so this joins a throw-away group of its
 * own (deleted afterwards), pauses the partitions it does not need and seeks the others; it commits nothing.
 * Progress counts batches that held only transaction markers or aborted records, so a range
 * that ends in such records still finishes.
 */
export async function readRanges(kafka: Kafka, groupPrefix: string, ranges: PartitionRange[], onMessages: (r: PartitionRange, messages: FetchedMessage[]) => void, timeoutMs = 120_000): Promise<void> {
  const todo = ranges.filter((r) => r.to > r.from);
  if (!todo.length) return;
  const byKey = new Map(todo.map((r) => [`${r.topic}\u0000${r.partition}`, { range: r, pos: r.from }]));
  const groupId = `${groupPrefix}-restore-${randomBytes(4).toString('hex')}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, sessionTimeout: 10_000, heartbeatInterval: 1000, maxBytesPerPartition: 4 * 1024 * 1024 });
  let remaining = todo.length;
  let finish!: () => void;
  let fail!: (e: Error) => void;
  const finished = new Promise<void>((res, rej) => {
    finish = res;
    fail = rej;
  });
  const advance = (topic: string, partition: number, next: number) => {
    const st = byKey.get(`${topic}\u0000${partition}`);
    if (!st || st.pos >= st.range.to) return;
    st.pos = Math.max(st.pos, next);
    if (st.pos >= st.range.to) {
      consumer.pause([{ topic, partitions: [partition] }]);
      if (--remaining === 0) finish();
    }
  };
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    for (const [topic, parts] of Object.entries(e.payload.memberAssignment)) {
      const skip = parts.filter((p) => !byKey.has(`${topic}\u0000${p}`) || byKey.get(`${topic}\u0000${p}`)!.pos >= byKey.get(`${topic}\u0000${p}`)!.range.to);
      if (skip.length) consumer.pause([{ topic, partitions: skip }]);
      for (const p of parts) {
        const st = byKey.get(`${topic}\u0000${p}`);
        if (st && st.pos < st.range.to) consumer.seek({ topic, partition: p, offset: String(st.pos) });
      }
    }
  });
  consumer.on(consumer.events.END_BATCH_PROCESS, (e) => advance(e.payload.topic, e.payload.partition, Number(e.payload.lastOffset) + 1));
  consumer.on(consumer.events.CRASH, (e) => {
    if (!e.payload.restart) fail(e.payload.error);
  });
  const timer = setTimeout(() => fail(new Error(`reading ${todo.map((r) => `${r.topic}[${r.partition}] ${r.from}..${r.to}`).join(', ')} did not finish within ${timeoutMs} ms`)), timeoutMs);
  try {
    await consumer.connect();
    for (const topic of new Set(todo.map((r) => r.topic))) await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat }) => {
        const st = byKey.get(`${batch.topic}\u0000${batch.partition}`);
        if (!st || st.pos >= st.range.to) return;
        const out: FetchedMessage[] = [];
        for (const m of batch.messages) {
          const offset = Number(m.offset);
          if (offset < st.pos || offset >= st.range.to) continue;
          const headers: Record<string, string> = {};
          if (m.headers) for (const [k, v] of Object.entries(m.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? String(v[0]) : v.toString();
          out.push({ offset, key: m.key, value: m.value, timestamp: Number(m.timestamp), headers });
        }
        if (out.length) onMessages(st.range, out);
        await heartbeat();
      },
    });
    await finished;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => {});
    await dropGroup(kafka, groupId);
  }
}

/** Deletes the throw-away group (it committed nothing), so restores leave no empty groups behind; best effort. */
async function dropGroup(kafka: Kafka, groupId: string): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.deleteGroups([groupId]);
  } catch {
    // The broker removes an empty group's metadata on its own after offsets.retention.minutes.
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
