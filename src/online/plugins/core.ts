/**
 * sluice-core: the state every route shares (config, admission, metrics, served models,
 * readiness), the error format, request metrics and /metrics. It owns the models it was
 * given to own and closes them in onClose, after in-flight requests are done.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Clock } from '../../core/clock.js';
import { ERROR_CODES, SluiceError, ensureError } from '../../core/errors.js';
import type { Metrics } from '../../metrics/registry.js';
import { Admission } from '../admission.js';
import type { ResolvedOnlineConfig } from '../config.js';
import { onlineMetrics, type OnlineMetrics } from '../metrics.js';
import type { ServedModels } from '../served-models.js';

export interface OnlineContext {
  config: ResolvedOnlineConfig;
  admission: Admission;
  metrics: OnlineMetrics;
  models: ServedModels;
  clock: Clock;
  /** Models warm, state restored, not draining. */
  ready(): boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    sluice: OnlineContext;
  }
  interface FastifyRequest {
    /** The model (or topology) a request is for, for the latency metric's label. */
    sluiceModel?: string;
  }
}

export interface CorePluginOptions {
  config: ResolvedOnlineConfig;
  models: ServedModels;
  metrics: Metrics;
  clock: Clock;
  /** Closed in onClose (models the server loaded itself). */
  owned: { close(): Promise<void> }[];
  /** Readiness beyond the models: e.g. a job started and its state restored. Default always. */
  isReady?: () => boolean;
}

/** Errors on /v1 carry {code, message}; /v2 (the Open Inference Protocol) a plain {"error": "..."}. */
export function sendError(req: FastifyRequest, reply: FastifyReply, e: SluiceError, status = e.status): FastifyReply {
  const v1 = req.url.startsWith('/v1/');
  if (status === 401) reply.header('www-authenticate', 'Bearer');
  return reply.code(status).send(v1 ? { error: { code: e.code, message: e.message } } : { error: e.message });
}

/** Fastify's own errors (body too large, bad JSON, wrong content type) as sluice errors. */
function fromFastify(err: FastifyError): SluiceError {
  if (err instanceof SluiceError) return err;
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || err.statusCode === 415) return new SluiceError('UNSUPPORTED_MEDIA_TYPE', `${err.message}; send Content-Type: application/json`);
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new SluiceError('PAYLOAD_TOO_LARGE', `${err.message}; send fewer records or rows per request, or raise online.bodyLimit`);
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) return new SluiceError('INVALID_INPUT', err.message);
  return ensureError(err);
}

const REASONS: Partial<Record<string, string>> = { UNAUTHORIZED: 'unauthorized', FORBIDDEN: 'forbidden', PAYLOAD_TOO_LARGE: 'too_large', UNSUPPORTED_MEDIA_TYPE: 'invalid', INVALID_INPUT: 'invalid', NOT_FOUND: 'not_found' };

async function core(app: FastifyInstance, o: CorePluginOptions): Promise<void> {
  const metrics = onlineMetrics(o.metrics.registry);
  const admission = new Admission(o.config, o.clock, metrics);
  app.decorate('sluice', {
    config: o.config,
    admission,
    metrics,
    models: o.models,
    clock: o.clock,
    ready: () => !admission.draining && (o.isReady?.() ?? true),
  } satisfies OnlineContext);

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const e = fromFastify(err);
    const reason = REASONS[e.code];
    if (reason) metrics.rejections.inc({ reason });
    if (ERROR_CODES[e.code].status >= 500 && e.code !== 'SHUTTING_DOWN') req.log.error({ err: e }, 'request failed');
    return sendError(req, reply, e);
  });
  app.setNotFoundHandler((req, reply) => {
    metrics.rejections.inc({ reason: 'not_found' });
    return sendError(req, reply, new SluiceError('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}; see GET /v2 and README "Online serving"`));
  });

  // fastify's own 503 while closing has its own body; the server answers it in sluice's format
  // instead (return503OnClosing is off): from preClose on, every new request is refused here.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // The per-request hooks take a callback rather than being async: a promise per request
  // and hook is measurable at online rates.
  app.addHook('onRequest', (req, reply, done) => {
    if (!closing) return done();
    metrics.rejections.inc({ reason: 'draining' });
    reply.header('connection', 'close');
    sendError(req, reply, new SluiceError('SHUTTING_DOWN', 'the server is shutting down and takes no new requests; retry against another instance'));
  });

  // The histogram's child per (route, model, status), kept: labelling it per request
  // (hashing the label object) costs more than the observation itself.
  const latency = new Map<string, { observe(v: number): void }>();
  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unknown';
    if (route === '/metrics') return done();
    const model = req.sluiceModel ?? '';
    const status = reply.statusCode;
    const key = `${status} ${model} ${route}`;
    let h = latency.get(key);
    if (!h) latency.set(key, (h = metrics.requestSeconds.labels({ route, model, status: String(status) })));
    h.observe(reply.elapsedTime / 1000);
    done();
  });

  app.get('/metrics', async (_req, reply) => {
    const text = await o.metrics.registry.metrics();
    return reply.type(o.metrics.registry.contentType).send(text);
  });

  app.addHook('onClose', async () => {
    // fastify stops accepting first; requests still running finish before the models close.
    await admission.drain();
    await Promise.all(o.owned.map((m) => m.close()));
  });
}

export const corePlugin = fp(core, { name: 'sluice-core', fastify: '5.x' });
