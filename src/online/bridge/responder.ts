/**
 * The owner side of the request-reply bridge: reads the request topic, drops requests
 * whose deadline has passed (before scoring them), answers the rest with the request path
 * over this process's keyed state (the live tasks' state when a job runs here), and
 * writes each answer to the reply topic the request names (the reply sink).
 */
import type { Clock } from '../../core/clock.js';
import { ensureError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { RecordAnswer, RequestPath } from '../../runtime/request-path.js';
import { CORRELATION_HEADER, DEADLINE_HEADER, REPLY_TOPIC_HEADER, requestTopic, type BridgeMessage, type BridgeTransport, type Subscription } from './transport.js';

export interface ResponderOptions {
  transport: BridgeTransport;
  path: RequestPath;
  clock: Clock;
  logger: Logger;
  /** Partitions of the request topic (the topology's source topic's). */
  partitions: number;
}

export class BridgeResponder {
  /** Requests dropped because their deadline had passed when they were read. */
  expired = 0;
  answered = 0;
  private constructor(private readonly sub: Subscription) {}

  static async start(o: ResponderOptions): Promise<BridgeResponder> {
    const topology = o.path.definition.name;
    await o.transport.ensureTopic(requestTopic(topology), o.partitions);
    let self: BridgeResponder | undefined;
    const sub = await o.transport.subscribe(requestTopic(topology), `${topology}-bridge`, async (messages) => {
      const now = o.clock.now();
      const live = messages.filter((m) => Number(m.headers[DEADLINE_HEADER] ?? Infinity) > now && m.headers[CORRELATION_HEADER] !== undefined);
      if (self) self.expired += messages.length - live.length;
      if (!live.length) return;
      const values = live.map((m) => (JSON.parse(m.value) as { record?: unknown }).record);
      const deadline = Math.max(...live.map((m) => Number(m.headers[DEADLINE_HEADER] ?? Infinity)));
      let answers: RecordAnswer[];
      try {
        answers = await o.path.answer(values, Number.isFinite(deadline) ? { deadline } : {});
      } catch (err) {
        const e = ensureError(err);
        const code = e.code === 'OVERLOADED' ? 'TOO_MANY_REQUESTS' : e.code;
        answers = live.map(() => ({ error: { code, message: e.message, step: 'bridge' } }));
      }
      const byTopic = new Map<string, BridgeMessage[]>();
      live.forEach((m, i) => {
        const topic = m.headers[REPLY_TOPIC_HEADER];
        if (!topic) return;
        const id = m.headers[CORRELATION_HEADER]!;
        const list = byTopic.get(topic) ?? [];
        list.push({ key: id, value: JSON.stringify(answers[i]), headers: { [CORRELATION_HEADER]: id } });
        byTopic.set(topic, list);
      });
      for (const [topic, replies] of byTopic) await o.transport.send(topic, replies);
      if (self) self.answered += live.length;
    });
    self = new BridgeResponder(sub);
    o.logger.info(`bridge: answering requests from topic ${requestTopic(topology)}`);
    return self;
  }

  close(): Promise<void> {
    return this.sub.close();
  }
}
