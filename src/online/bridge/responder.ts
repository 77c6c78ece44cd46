/**
 * The owner side of the request-reply bridge: drops requests whose deadline has passed
 * (before scoring them), answers the rest with the request path over this process's keyed
 * state (the live tasks' state when a job runs here), and writes each answer to the reply
 * topic the request names (the reply sink). A request's record key is its entity key.
 *
 * Two ways to read requests: on Kafka the job's own tasks read them (the request topic is
 * co-partitioned with the input and subscribed in the job's group; see KafkaTasksOptions.requests)
 * and call `handle` between their batches with their task name; on the embedded log (one
 * process owns every partition) `start` subscribes to the request topic itself.
 */
import type { Clock } from '../../core/clock.js';
import { ensureError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { RecordAnswer, RequestPath } from '../../runtime/request-path.js';
import { CORRELATION_HEADER, DEADLINE_HEADER, REPLY_TOPIC_HEADER, requestTopic, type BridgeMessage, type BridgeTransport, type Subscription } from './transport.js';

/** Reply sends that may be in flight before handle() waits for one to finish. */
const MAX_REPLY_SENDS = 4;
/** Batches of requests the responder's own subscription answers at once. */
const MAX_ANSWERING = 4;

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
  private sub: Subscription | undefined;
  /** Reply sends not yet acknowledged (see handle). */
  private readonly replying = new Set<Promise<void>>();
  /** Batches of requests being answered (see take). */
  private readonly answering = new Set<Promise<void>>();
  private constructor(private readonly o: ResponderOptions) {}

  /** Answers requests handed to `handle` (by the job's tasks); subscribes to nothing. */
  static forTasks(o: ResponderOptions): BridgeResponder {
    o.logger.info(`bridge: answering requests from topic ${requestTopic(o.path.definition.name)} in this job's tasks (co-partitioned with the input)`);
    return new BridgeResponder(o);
  }

  /** Subscribes to the request topic and answers everything on it (one process owns every partition). */
  static async start(o: ResponderOptions): Promise<BridgeResponder> {
    const topology = o.path.definition.name;
    await o.transport.ensureTopic(requestTopic(topology), o.partitions);
    const self = new BridgeResponder(o);
    self.sub = await o.transport.subscribe(requestTopic(topology), `${topology}-bridge`, (messages) => self.take(messages));
    o.logger.info(`bridge: answering requests from topic ${requestTopic(topology)}`);
    return self;
  }

  /**
   * The subscription's handler: answers a batch while the next ones are read (a few at
   * once). The request path only reads state, so answering batches side by side gives
   * each the answer it would get alone; waiting for each batch's model call held the
   * requests read after it (the owner tasks' handle() calls stay one at a time, in order
   * with their input).
   */
  private async take(messages: BridgeMessage[]): Promise<void> {
    const done = this.handle(messages).catch((err: unknown) => this.o.logger.error(`bridge: cannot answer ${messages.length} requests (their callers get 504 at the deadline): ${ensureError(err).message}`));
    this.answering.add(done);
    void done.then(() => this.answering.delete(done));
    if (this.answering.size >= MAX_ANSWERING) await Promise.race(this.answering);
  }

  /** Answers requests; `task` names the task whose state they read (default: the task each key hashes to). */
  async handle(messages: BridgeMessage[], task?: string): Promise<void> {
    const o = this.o;
    const now = o.clock.now();
    const live = messages.filter((m) => Number(m.headers[DEADLINE_HEADER] ?? Infinity) > now && m.headers[CORRELATION_HEADER] !== undefined);
    this.expired += messages.length - live.length;
    if (!live.length) return;
    const values = live.map((m) => (JSON.parse(m.value) as { record?: unknown }).record);
    const deadline = Math.max(...live.map((m) => Number(m.headers[DEADLINE_HEADER] ?? Infinity)));
    let answers: RecordAnswer[];
    try {
      answers = await o.path.answer(values, { ...(Number.isFinite(deadline) ? { deadline } : {}), keys: live.map((m) => m.key), ...(task ? { task } : {}) });
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
    // The replies go out while the next requests are read and answered: waiting for the
    // produce here held every request behind it (one batch's state reads were done, so
    // order is kept). A few sends in flight at most, so a slow broker slows the reader.
    const sent = Promise.all([...byTopic].map(([topic, replies]) => o.transport.send(topic, replies))).then(
      () => void (this.answered += live.length),
      (err: unknown) => o.logger.error(`bridge: cannot send ${live.length} replies (their callers get 504 at the deadline): ${ensureError(err).message}`),
    );
    this.replying.add(sent);
    void sent.then(() => this.replying.delete(sent));
    if (this.replying.size > MAX_REPLY_SENDS) await Promise.race(this.replying);
  }

  async close(): Promise<void> {
    await this.sub?.close();
    await Promise.all(this.answering);
    await Promise.all(this.replying);
  }
}
