/**
 * sluice-topology: POST /v1/topologies/{name}/score answers records with what the
 * topology's request path makes of them (map, filter, keyed state reads, score, route),
 * in order; one failing record gets an error in its slot and never fails the others.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { CancelSignal } from '../../core/cancel.js';
import { ERROR_CODES, SluiceError } from '../../core/errors.js';
import type { RecordAnswer } from '../../runtime/request-path.js';

/** Answers records for one topology: the direct request path, or the request-reply bridge. */
export interface RecordAnswerer {
  readonly topology: string;
  /** The model the latency metric names (the first score step's). */
  readonly model: string;
  /** `call.keys`: each record's key as the request gave it (null or undefined: none). */
  answer(values: readonly unknown[], call: { deadline: number; signal: CancelSignal; keys?: readonly (string | null | undefined)[] }): Promise<RecordAnswer[]>;
}

/** The header that gives a one-record request its key. */
export const KEY_HEADER = 'sluice-key';

/** `{"key": "...", "record": {...}}`: an item that carries its key beside the record (no other fields). */
function isEnvelope(v: unknown): v is { key?: unknown; record: unknown } {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const fields = Object.keys(v);
  return 'record' in v && fields.every((f) => f === 'record' || f === 'key');
}

/** Splits items into records and keys; an envelope with a key that is not a string gets an error in its slot (undefined record). */
function unwrap(items: readonly unknown[], headerKey: string | undefined): { values: unknown[]; keys: (string | null)[]; bad: Map<number, string> } {
  const values: unknown[] = [];
  const keys: (string | null)[] = [];
  const bad = new Map<number, string>();
  items.forEach((item, i) => {
    if (!isEnvelope(item)) {
      values.push(item);
      keys.push(headerKey ?? null);
      return;
    }
    values.push(item.record);
    const k = item.key ?? headerKey ?? null;
    if (k !== null && typeof k !== 'string' && typeof k !== 'number') bad.set(i, `record ${i}: "key" must be a string (the entity key); got ${Array.isArray(k) ? 'an array' : typeof k}`);
    keys.push(k === null ? null : String(k));
  });
  return { values, keys, bad };
}

/**
 * JSON bodies without fastify's prototype-poisoning scan when they cannot hold a
 * `__proto__` or `constructor` key: that scan (a regular expression over the whole text,
 * for escaped spellings too) cost more than the parse of a one-record body. A body with a
 * backslash or either word is parsed by fastify's own parser, with its checks.
 */
function jsonParser(app: FastifyInstance) {
  const checked = app.getDefaultJsonParser('error', 'error');
  return (req: FastifyRequest, body: string, done: (err: Error | null, body?: unknown) => void): void => {
    if (body.length === 0 || body.includes('\\') || body.includes('__proto__') || body.includes('constructor')) return void checked(req, body, done);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return void checked(req, body, done); // its error, as every other route gives it
    }
    done(null, parsed);
  };
}

async function topologyRoutes(app: FastifyInstance, o: { answerer: RecordAnswerer }): Promise<void> {
  const s = app.sluice;
  const a = o.answerer;
  const inferences = s.metrics.inferences.labels(a.model); // made once: labelling per request hashes the labels
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: s.config.bodyLimit }, jsonParser(app));
  app.post('/v1/topologies/:name/score', async (req: FastifyRequest<{ Params: { name: string } }>, reply: FastifyReply) => {
    if (req.params.name !== a.topology) throw new SluiceError('NOT_FOUND', `unknown topology "${req.params.name}"; this server answers for "${a.topology}"`);
    req.sluiceModel = a.model;
    // fastify reads text/plain too; this endpoint takes JSON only.
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json' && !type.endsWith('+json')) throw new SluiceError('UNSUPPORTED_MEDIA_TYPE', `the body must be JSON (Content-Type: application/json); got ${type ? `"${type}"` : 'no content type'}`);
    const body = req.body;
    const many = Array.isArray(body);
    const values = many ? body : [body];
    if (body === undefined || body === null || (typeof body !== 'object')) throw new SluiceError('INVALID_INPUT', 'the body must be a JSON object (one record) or an array of records');
    if (!values.length) throw new SluiceError('INVALID_INPUT', 'the array of records is empty; send at least one record');
    const header = req.headers[KEY_HEADER];
    if (Array.isArray(header)) throw new SluiceError('INVALID_INPUT', `send one ${KEY_HEADER} header, not ${header.length}`);
    if (header !== undefined && many) throw new SluiceError('INVALID_INPUT', `the ${KEY_HEADER} header keys a one-record body; for an array give each item its key as {"key": "...", "record": {...}}`);
    const { values: records, keys, bad } = unwrap(values, header);
    const good = records.map((_, i) => i).filter((i) => !bad.has(i));
    const answered = await s.admission.run(req, reply, undefined, (call) => (good.length ? a.answer(good.map((i) => records[i]), { ...call, keys: good.map((i) => keys[i]) }) : Promise.resolve([])));
    let next = 0;
    const answers: RecordAnswer[] = records.map((_, i) => (bad.has(i) ? { error: { code: 'INVALID_INPUT' as const, message: bad.get(i)!, step: 'request' } } : answered[next++]!));
    const rows = answers.filter((x) => !('error' in x)).length;
    if (rows) inferences.inc(rows);
    if (many) return { topology: a.topology, results: answers };
    // One record: its own status, so a plain client sees a failure as one.
    const only = answers[0]!;
    if ('error' in only) return reply.code(ERROR_CODES[only.error.code].status).send(only);
    return only;
  });
}

export const topologyPlugin = fp(topologyRoutes, { name: 'sluice-topology', fastify: '5.x', dependencies: ['sluice-core'], encapsulate: true });
