import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../core/clock.js';
import { Cancellation, type CancelSignal } from '../core/cancel.js';
import { SluiceError, ensureError } from '../core/errors.js';
import type { ResolvedOnlineConfig } from './config.js';
import type { OnlineMetrics } from './metrics.js';

/** The header that sets one request's deadline, in milliseconds from its arrival. */
export const TIMEOUT_HEADER = 'sluice-timeout-ms';

export interface Call {
  /** Clock ms after which the request's model work is dropped (504). */
  deadline: number;
  /** Aborted when the client goes away or the deadline passes. */
  signal: CancelSignal;
}

/**
 * Admission for requests that reach a model: a bounded number in flight (429 beyond it),
 * none while draining (503), a deadline per request (config default, `timeout` parameter
 * or header) enforced with a timer even while the request waits in a model queue, and
 * cancellation when the client disconnects, so its queue slot is freed at once.
 */
export class Admission {
  private inFlightNow = 0;
  private drainingNow = false;
  private readonly idle: (() => void)[] = [];

  constructor(private readonly config: ResolvedOnlineConfig, private readonly clock: Clock, private readonly metrics: OnlineMetrics) {}

  get inFlight(): number {
    return this.inFlightNow;
  }

  get draining(): boolean {
    return this.drainingNow;
  }

  /** Stops admitting; resolves when nothing is in flight (or after `timeoutMs`). */
  async drain(timeoutMs = this.config.drainTimeoutMs): Promise<boolean> {
    this.drainingNow = true;
    if (this.inFlightNow === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      new Promise<true>((r) => this.idle.push(() => r(true))),
      new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    return done;
  }

  /** Runs `work` as one admitted request; maps what goes wrong to the error the client gets. */
  async run<T>(req: FastifyRequest, reply: FastifyReply, timeoutMs: number | undefined, work: (call: Call) => Promise<T>): Promise<T> {
    if (this.drainingNow) {
      this.metrics.rejections.inc({ reason: 'draining' });
      throw new SluiceError('SHUTTING_DOWN', 'the server is draining (shutting down) and takes no new requests; retry against another instance');
    }
    if (this.inFlightNow >= this.config.maxInFlight) {
      this.metrics.rejections.inc({ reason: 'queue_full' });
      throw new SluiceError('TOO_MANY_REQUESTS', `the server is answering ${this.inFlightNow} requests already (online.maxInFlight ${this.config.maxInFlight}); retry after a short backoff`);
    }
    const ms = timeoutMs ?? headerTimeout(req) ?? this.config.deadlineMs;
    const deadline = this.clock.now() + ms;
    const ac = new Cancellation();
    let why: 'deadline' | 'client' | null = null;
    const timer = setTimeout(() => {
      why ??= 'deadline';
      ac.abort();
    }, ms);
    // Not removed afterwards: the response object is the request's own, and once the call
    // is over an abort reaches no one (removing it cost more than it ever fires).
    const onClose = (): void => {
      if (reply.raw.writableFinished) return;
      why ??= 'client';
      ac.abort();
    };
    reply.raw.once('close', onClose);
    this.inFlightNow++;
    this.metrics.inFlight.inc();
    try {
      const out = await work({ deadline, signal: ac });
      if (why === 'deadline') throw this.expired(ms);
      return out;
    } catch (err) {
      const e = ensureError(err);
      if (why === 'deadline' || e.code === 'DEADLINE_EXCEEDED') {
        this.metrics.rejections.inc({ reason: 'deadline' });
        throw e.code === 'DEADLINE_EXCEEDED' ? e : this.expired(ms);
      }
      if (why === 'client' || e.code === 'CANCELLED') {
        this.metrics.rejections.inc({ reason: 'cancelled' });
        throw new SluiceError('CANCELLED', 'the client disconnected before the answer was ready');
      }
      if (e.code === 'OVERLOADED') {
        this.metrics.rejections.inc({ reason: 'queue_full' });
        throw new SluiceError('TOO_MANY_REQUESTS', `${e.message}; the request was shed, retry after a short backoff`, e.context, { cause: e });
      }
      if (e.code === 'SHUTTING_DOWN') this.metrics.rejections.inc({ reason: 'draining' });
      throw e;
    } finally {
      clearTimeout(timer);
      this.inFlightNow--;
      this.metrics.inFlight.dec();
      if (this.inFlightNow === 0) for (const f of this.idle.splice(0)) f();
    }
  }

  private expired(ms: number): SluiceError {
    return new SluiceError('DEADLINE_EXCEEDED', `the request's deadline (${ms} ms) passed before it was answered; it was dropped before scoring if it had not run yet`);
  }
}

function headerTimeout(req: FastifyRequest): number | undefined {
  const h = req.headers[TIMEOUT_HEADER];
  if (h === undefined) return undefined;
  const v = Number(Array.isArray(h) ? h[0] : h);
  if (!(v > 0) || !Number.isFinite(v)) throw new SluiceError('INVALID_INPUT', `header ${TIMEOUT_HEADER} must be a positive number of milliseconds; got ${JSON.stringify(h)}`);
  return v;
}
