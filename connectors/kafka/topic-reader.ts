// Reads a topic's partitions up to the ends they had when asked, for `sluice topics consume`.
import type { Kafka } from 'kafkajs';
import type { KafkaConnection } from './config.js';
import { readRanges } from './range-reader.js';
import { kafkaError } from './sluice-error.js';
import type { IncomingRecord, PartitionOffsets } from './topic-ops.js';

/**
 * Every partition from `o.offset` (or its start, if later) to its `end` in `partitions`,
 * read_committed, at most `o.max` records, through consumer group `groupId`, which commits
 * nothing and is deleted afterwards. Returns the count handed to `onRecords`. The reading
 * (and its recovery from consumer crashes) is readRanges's.
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
  const ranges = partitions.map((p) => ({ topic: name, partition: p.partition, from: Math.max(o.offset, p.start), to: p.end })).filter((r) => r.from < r.to);
  if (!ranges.length || o.max <= 0) return 0;
  let read = 0;
  try {
    await readRanges(
      kafka,
      groupId,
      ranges,
      (r, messages) => {
        const out: IncomingRecord[] = [];
        for (const m of messages.slice(0, o.max - read)) out.push({ partition: r.partition, offset: m.offset, key: m.key?.toString() ?? null, timestamp: m.timestamp, value: m.value?.toString() ?? '' });
        read += out.length;
        onRecords(out);
        return read >= o.max ? 'enough' : undefined;
      },
      { groupId, timeoutMs: o.timeoutMs ?? 60_000 },
    );
  } catch (err) {
    throw kafkaError(err, conn, `reading topic "${name}"`);
  }
  return read;
}
