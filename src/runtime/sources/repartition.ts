import type { EmbeddedLog } from '../../../connectors/embedded/index.js';
import type { DeadLetter, StreamRecord } from '../../core/record.js';
import { EMPTY_HEADERS, UPSTREAM_HEADER } from '../../sinks/index.js';
import { decodeError, type PollResult, type SourcePartition } from './source.js';

/** How long a reader waits for new records before reporting idle (so windows get ticks). */
const WAIT_MS = 200;

/**
 * Tells the readers of a repartition topic when every task writing it has finished its
 * input (a bounded run) and committed its last checkpoint: from then on, what the topic
 * holds is all there will be.
 */
export class UpstreamGate {
  private remaining: number;
  private open!: () => void;
  /** Resolves once every upstream task has finished. */
  readonly finished: Promise<void>;
  done = false;

  constructor(readonly upstreams: readonly string[]) {
    this.remaining = upstreams.length;
    this.finished = new Promise((r) => (this.open = r));
    if (this.remaining === 0) this.finish();
  }

  /** One upstream task returned after its final checkpoint. */
  taskFinished(): void {
    if (--this.remaining <= 0) this.finish();
  }

  private finish(): void {
    this.done = true;
    this.open();
  }
}

export interface RepartitionSourceOptions {
  log: EmbeddedLog;
  topic: string;
  /** The job's consumer group: positions on the topic commit under it. */
  group: string;
  gate: UpstreamGate;
}

/** One SourcePartition per partition of a repartition topic, each starting at the group's committed position. */
export async function openRepartitionSource(o: RepartitionSourceOptions): Promise<SourcePartition[]> {
  const parts: SourcePartition[] = [];
  const n = o.log.requireTopic(o.topic).partitions;
  for (let p = 0; p < n; p++) parts.push(new RepartitionPartition(o, p, (await o.log.committedOffset(o.group, o.topic, p)) ?? 0));
  return parts;
}

/**
 * Reads one partition of a repartition topic. It is bounded exactly when its writers are:
 * it ends (as an exhausted input, so windows flush) once every upstream task has finished
 * and it has read all they wrote; while they run it waits, however long the topic is quiet.
 */
class RepartitionPartition implements SourcePartition {
  readonly source: string;

  constructor(private readonly o: RepartitionSourceOptions, readonly partition: number, private pos: number) {
    this.source = o.topic;
  }

  async poll(max: number, signal: AbortSignal): Promise<PollResult> {
    const { log, topic, gate } = this.o;
    for (;;) {
      if (signal.aborted) return { records: [], dead: [], next: this.pos, end: true };
      // Read the gate before the log: once it is open, every upstream write is visible.
      const finished = gate.done;
      const stored = await log.read(topic, this.partition, this.pos, max);
      if (stored.length) {
        const records: StreamRecord[] = [];
        const dead: DeadLetter[] = [];
        for (const s of stored) {
          // The hop is written as JSON text with text keys (createRepartitionSink).
          const text = typeof s.value === 'string' ? s.value : s.value.toString('utf8');
          const key = s.key === null || typeof s.key === 'string' ? s.key : s.key.toString('utf8');
          let value: unknown;
          try {
            value = JSON.parse(text);
          } catch (err) {
            dead.push(decodeError(this.source, this.partition, s.offset, key, s.timestamp, text, `not valid JSON: ${(err as Error).message}`));
            continue;
          }
          const r: StreamRecord = { key, value: value as Record<string, unknown>, timestamp: s.timestamp, headers: s.headers ?? EMPTY_HEADERS, position: { source: this.source, partition: this.partition, offset: s.offset } };
          takeOrigin(r);
          records.push(r);
        }
        this.pos = stored[stored.length - 1]!.offset + 1;
        return { records, dead, next: this.pos, end: false };
      }
      if (finished) return { records: [], dead: [], next: this.pos, end: true, bounded: true };
      const woke = await Promise.race([log.waitForAppend(topic, this.partition, this.pos, WAIT_MS, signal), gate.finished.then(() => true)]);
      if (!woke) return { records: [], dead: [], next: this.pos, end: signal.aborted };
    }
  }

  commitFor(next: number) {
    return { offsets: [{ group: this.o.group, topic: this.o.topic, partition: this.partition, offset: next }] };
  }

  async close(): Promise<void> {}
}

/** Moves the upstream header of a record read from a hop into `origin`, leaving the user's headers as they were. */
export function takeOrigin(r: StreamRecord): void {
  const origin = r.headers[UPSTREAM_HEADER];
  if (origin === undefined) return;
  r.origin = origin;
  const { [UPSTREAM_HEADER]: _, ...rest } = r.headers;
  let any = false;
  for (const _k in rest) {
    any = true;
    break;
  }
  r.headers = any ? rest : EMPTY_HEADERS;
}

/** A source whose records come from a hop written by another reader (Kafka): takes each record's origin from its header. */
export function withOrigins(part: SourcePartition): SourcePartition {
  return {
    source: part.source,
    partition: part.partition,
    async poll(max, signal) {
      const polled = await part.poll(max, signal);
      if (Array.isArray(polled.records)) for (const r of polled.records) takeOrigin(r);
      return polled;
    },
    commitFor: (next) => part.commitFor(next),
    ...(part.progress ? { progress: () => part.progress!() } : {}),
    close: () => part.close(),
  };
}
