/**
 * The HTTP side of the request-reply bridge: each record becomes a message on the
 * topology's request topic, keyed by its entity key (so it reaches the partition, and the
 * task, that owns the key's state), with its correlation id, the reply topic and its
 * deadline in headers. Replies come back on the reply topic; a reply whose request has
 * already been answered with 504 (or whose client left) is dropped and counted.
 */
import { randomUUID } from 'node:crypto';
import { SluiceError } from '../../core/errors.js';
import type { RecordAnswer, RequestPath } from '../../runtime/request-path.js';
import type { OnlineMetrics } from '../metrics.js';
import type { RecordAnswerer } from '../plugins/topology.js';
import { CORRELATION_HEADER, DEADLINE_HEADER, REPLY_TOPIC_HEADER, replyTopic, requestTopic, type BridgeMessage, type BridgeTransport, type Subscription } from './transport.js';

export interface BridgeClientOptions {
  transport: BridgeTransport;
  /** Used only to compute entity keys (the steps up to the first keyBy). */
  path: RequestPath;
  metrics: OnlineMetrics;
  /** Partitions of the request topic (the topology's source topic's). */
  partitions: number;
  /** The model the latency metric names. */
  model: string;
}

export class BridgeClient implements RecordAnswerer {
  readonly topology: string;
  readonly model: string;
  /** Correlation ids start with it, so a late reply can be told from another instance's. */
  private readonly instance = randomUUID().slice(0, 8);
  private seq = 0;
  private readonly waiting = new Map<string, (a: RecordAnswer) => void>();
  private sub: Subscription | null = null;

  private constructor(private readonly o: BridgeClientOptions) {
    this.topology = o.path.definition.name;
    this.model = o.model;
  }

  static async start(o: BridgeClientOptions): Promise<BridgeClient> {
    const c = new BridgeClient(o);
    // Co-partitioned with the input: its real partition count wins over the topology's declared one.
    const input = Object.values(o.path.definition.sources).find((s) => s.type === 'topic');
    const actual = input?.type === 'topic' ? await o.transport.partitionCount?.(input.topic) : undefined;
    await o.transport.ensureTopic(requestTopic(c.topology), actual ?? o.partitions);
    await o.transport.ensureTopic(replyTopic(c.topology), 1);
    c.sub = await o.transport.subscribe(replyTopic(c.topology), `${c.topology}-replies-${c.instance}`, async (m) => c.onReplies(m));
    return c;
  }

  /** Requests still waiting for a reply. */
  get pending(): number {
    return this.waiting.size;
  }

  async answer(values: readonly unknown[], call: { deadline: number; signal: AbortSignal; keys?: readonly (string | null | undefined)[] }): Promise<RecordAnswer[]> {
    // The message key is the entity key: the request's own, or the keyBy's; it picks the partition, and so the task that owns the key's state.
    const keys = await this.o.path.keysOf(values, call.keys);
    const ids = values.map(() => `${this.instance}.${++this.seq}`);
    const replies = ids.map((id) => new Promise<RecordAnswer>((resolve) => this.waiting.set(id, resolve)));
    const forget = () => ids.forEach((id) => this.waiting.delete(id));
    const aborted = new Promise<never>((_, reject) => {
      const onAbort = () => {
        forget();
        reject(new SluiceError('DEADLINE_EXCEEDED', `no reply from the task that owns the key before the deadline (bridge, topic ${requestTopic(this.topology)})`));
      };
      if (call.signal.aborted) onAbort();
      else call.signal.addEventListener('abort', onAbort, { once: true });
    });
    aborted.catch(() => undefined);
    const messages: BridgeMessage[] = values.map((v, i) => ({
      key: keys[i]!,
      value: JSON.stringify({ record: v }),
      headers: { [CORRELATION_HEADER]: ids[i]!, [REPLY_TOPIC_HEADER]: replyTopic(this.topology), [DEADLINE_HEADER]: String(call.deadline) },
    }));
    try {
      await Promise.race([this.o.transport.send(requestTopic(this.topology), messages), aborted]);
      return await Promise.race([Promise.all(replies), aborted]);
    } finally {
      forget();
    }
  }

  async close(): Promise<void> {
    await this.sub?.close();
  }

  private onReplies(messages: BridgeMessage[]): void {
    for (const m of messages) {
      const id = m.headers[CORRELATION_HEADER];
      if (id === undefined || !id.startsWith(`${this.instance}.`)) continue; // another instance's
      const resolve = this.waiting.get(id);
      if (!resolve) {
        this.o.metrics.lateReplies.inc({ topology: this.topology });
        continue;
      }
      this.waiting.delete(id);
      resolve(JSON.parse(m.value) as RecordAnswer);
    }
  }
}
