import { randomBytes } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { SluiceError } from '../../src/core/errors.js';
import type { FetchedMessage } from './consumer.js';
import { ConsumerRecovery, disconnectWithin } from './recovery.js';

export interface PartitionRange {
  topic: string;
  partition: number;
  /** First offset to read. */
  from: number;
  /** Stop once the read position reaches this offset (exclusive). */
  to: number;
}

export interface ReadRangesOptions {
  /** The whole read must end within this. Default 120 s. */
  timeoutMs?: number;
  /** Crashes in a row (no fetch between them) after which the read fails. Default 10. */
  maxFailures?: number;
  /** The first wait before a fresh consumer, doubling per crash in a row, at most 10 s. Default 300 ms. */
  retryMs?: number;
  /** Told of each crash kafkajs does not restart from: `recovering` false when it ends the read. */
  onCrash?: (err: Error, recovering: boolean) => void;
  /** The throw-away group's id. Default `<groupPrefix>-restore-<random>`. */
  groupId?: string;
}

/**
 * Reads fixed offset ranges, read_committed, and returns once every range is read to its end
 * (or `onMessages` says it has enough).
 * kafkajs has no standalone (assign-only) consumer, so this joins a throw-away group of its
 * own (deleted afterwards), pauses the partitions it does not need and seeks the others; it commits nothing.
 * Progress counts batches that held only transaction markers or aborted records, so a range
 * that ends in such records still finishes.
 *
 * A crash kafkajs does not restart from ("Failed to find group coordinator" in a broker
 * restart) gets a fresh consumer after a backoff, which seeks each range to just after what was
 * handed over: nothing is handed over twice. Refused credentials or permissions, `maxFailures`
 * crashes in a row, or the timeout end the read with an error.
 */
export async function readRanges(kafka: Kafka, groupPrefix: string, ranges: PartitionRange[], onMessages: (r: PartitionRange, messages: FetchedMessage[]) => void | 'enough', o: ReadRangesOptions = {}): Promise<void> {
  const todo = ranges.filter((r) => r.to > r.from);
  if (!todo.length) return;
  const timeoutMs = o.timeoutMs ?? 120_000;
  const byKey = new Map(todo.map((r) => [`${r.topic}\u0000${r.partition}`, { range: r, pos: r.from }]));
  const groupId = o.groupId ?? `${groupPrefix}-restore-${randomBytes(4).toString('hex')}`;
  let remaining = todo.length;
  let done = false;
  let finish!: () => void;
  let fail!: (e: Error) => void;
  const finished = new Promise<void>((res, rej) => {
    finish = res;
    fail = rej;
  });
  void finished.then(
    () => (done = true),
    () => (done = true),
  );
  let consumer: Consumer | undefined;

  const advance = (c: Consumer, topic: string, partition: number, next: number) => {
    const st = byKey.get(`${topic}\u0000${partition}`);
    if (!st || st.pos >= st.range.to) return;
    st.pos = Math.max(st.pos, next);
    if (st.pos >= st.range.to) {
      c.pause([{ topic, partitions: [partition] }]);
      if (--remaining === 0) finish();
    }
  };

  const start = async (): Promise<void> => {
    const c = kafka.consumer({ groupId, maxWaitTimeInMs: 100, sessionTimeout: 10_000, heartbeatInterval: 1000, maxBytesPerPartition: 4 * 1024 * 1024, allowAutoTopicCreation: false, retry: { restartOnFailure: async () => !done && consumer === c } });
    consumer = c;
    const mine = () => consumer === c && !done;
    c.on(c.events.GROUP_JOIN, (e) => {
      if (!mine()) return;
      for (const [topic, parts] of Object.entries(e.payload.memberAssignment)) {
        const skip = parts.filter((p) => !byKey.has(`${topic}\u0000${p}`) || byKey.get(`${topic}\u0000${p}`)!.pos >= byKey.get(`${topic}\u0000${p}`)!.range.to);
        if (skip.length) c.pause([{ topic, partitions: skip }]);
        for (const p of parts) {
          const st = byKey.get(`${topic}\u0000${p}`);
          if (st && st.pos < st.range.to) c.seek({ topic, partition: p, offset: String(st.pos) });
        }
      }
    });
    c.on(c.events.FETCH, () => {
      if (mine()) recovery.fetched();
    });
    c.on(c.events.END_BATCH_PROCESS, (e) => mine() && advance(c, e.payload.topic, e.payload.partition, Number(e.payload.lastOffset) + 1));
    c.on(c.events.CRASH, (e) => {
      if (mine() && !e.payload.restart) recovery.crashed(e.payload.error);
    });
    await c.connect();
    for (const topic of new Set(todo.map((r) => r.topic))) await c.subscribe({ topic, fromBeginning: true });
    await c.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat }) => {
        // A replaced consumer's last batches are dropped: its successor reads them again from `pos`.
        if (!mine()) return;
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
        if (out.length) {
          if (onMessages(st.range, out) === 'enough') finish();
          // What was handed over is never handed over again, by this consumer or a fresh one.
          advance(c, batch.topic, batch.partition, out[out.length - 1]!.offset + 1);
        }
        await heartbeat();
      },
    });
  };

  const recovery = new ConsumerRecovery({
    maxFailures: o.maxFailures ?? 10,
    initialMs: o.retryMs ?? 300,
    maxMs: 10_000,
    stopped: () => done,
    onCrash: (err, recovering) => {
      o.onCrash?.(err, recovering);
      if (!recovering) fail(err);
    },
    // A fresh consumer in the same group: it seeks each range to after what was handed over.
    swap: async () => {
      const old = consumer;
      consumer = undefined;
      await disconnectWithin(old);
      if (done) return;
      try {
        await start();
      } finally {
        // The read ended (timeout, failure) while the fresh consumer started: readRanges's own cleanup may have run before it existed.
        // (start() sets `consumer`, which TypeScript cannot see from here.)
        if (done) await (consumer as Consumer | undefined)?.disconnect().catch(() => {});
      }
    },
  });

  const timer = setTimeout(() => {
    const left = [...byKey.values()].filter((st) => st.pos < st.range.to).map((st) => `${st.range.topic}[${st.range.partition}] at ${st.pos} of ${st.range.from}..${st.range.to}`);
    fail(new SluiceError('DEADLINE_EXCEEDED', `reading did not finish within ${timeoutMs / 1000} s: ${left.join(', ')}`));
  }, timeoutMs);
  try {
    await start();
    await finished;
  } finally {
    clearTimeout(timer);
    done = true;
    await consumer?.disconnect().catch(() => {});
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
