import type { EmbeddedLog } from '../../../connectors/embedded/index.js';
import type { DeadLetter, StreamRecord } from '../../core/record.js';
import { EMPTY_HEADERS } from '../../sinks/index.js';
import type { TopicSourceConfig } from '../../topology/schema.js';
import { decodeError, type PollResult, type SourcePartition } from './source.js';

/** How long a live source waits for new records before checking whether to stop. */
const WAIT_MS = 200;

export interface TopicSourceOptions {
  name: string;
  log: EmbeddedLog;
  config: TopicSourceConfig;
  group: string;
  untilIdle: boolean;
}

/** Opens one SourcePartition per partition of an embedded topic, starting at the group's committed positions. */
export async function openTopicSource(o: TopicSourceOptions): Promise<SourcePartition[]> {
  const info = o.log.requireTopic(o.config.topic);
  const parts: SourcePartition[] = [];
  for (let p = 0; p < info.partitions; p++) {
    const committed = await o.log.committedOffset(o.group, info.name, p);
    const start = committed ?? (o.config.startFrom === 'latest' ? o.log.endOffset(info.name, p) : o.log.startOffset(info.name, p));
    parts.push(new TopicPartitionSource(o, p, start));
  }
  return parts;
}

class TopicPartitionSource implements SourcePartition {
  readonly source: string;
  private pos: number;

  constructor(private readonly o: TopicSourceOptions, readonly partition: number, start: number) {
    this.source = o.name;
    this.pos = start;
  }

  async poll(max: number, signal: AbortSignal): Promise<PollResult> {
    const { log, config } = this.o;
    for (;;) {
      if (signal.aborted) return { records: [], dead: [], next: this.pos, end: true };
      const stored = await log.read(config.topic, this.partition, this.pos, max);
      if (stored.length) {
        const records: StreamRecord[] = [];
        const dead: DeadLetter[] = [];
        for (const s of stored) {
          let value: unknown;
          try {
            value = JSON.parse(s.value);
          } catch (err) {
            dead.push(decodeError(this.source, this.partition, s.offset, s.key, s.timestamp, s.value, `not valid JSON: ${(err as Error).message}`));
            continue;
          }
          if (typeof value !== 'object' || value === null || Array.isArray(value)) {
            dead.push(decodeError(this.source, this.partition, s.offset, s.key, s.timestamp, s.value, `expected a JSON object, got ${Array.isArray(value) ? 'a list' : value === null ? 'null' : typeof value}`));
            continue;
          }
          records.push({ key: s.key, value: value as Record<string, unknown>, timestamp: s.timestamp, headers: s.headers ?? EMPTY_HEADERS, position: { source: this.source, partition: this.partition, offset: s.offset } });
        }
        this.pos = stored[stored.length - 1]!.offset + 1;
        return { records, dead, next: this.pos, end: false };
      }
      if (this.o.untilIdle) return { records: [], dead: [], next: this.pos, end: true };
      await log.waitForAppend(config.topic, this.partition, this.pos, WAIT_MS, signal);
    }
  }

  commitFor(next: number) {
    return { group: this.o.group, topic: this.o.config.topic, partition: this.partition, offset: next };
  }

  async close(): Promise<void> {}
}
