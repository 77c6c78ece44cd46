/**
 * sluice-topology: POST /v1/topologies/{name}/score answers records with what the
 * topology's request path makes of them (map, filter, keyed state reads, score, route),
 * in order; one failing record gets an error in its slot and never fails the others.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ERROR_CODES, SluiceError } from '../../core/errors.js';
import type { RecordAnswer } from '../../runtime/request-path.js';

/** Answers records for one topology: the direct request path, or the request-reply bridge. */
export interface RecordAnswerer {
  readonly topology: string;
  /** The model the latency metric names (the first score step's). */
  readonly model: string;
  answer(values: readonly unknown[], call: { deadline: number; signal: AbortSignal }): Promise<RecordAnswer[]>;
}

async function topologyRoutes(app: FastifyInstance, o: { answerer: RecordAnswerer }): Promise<void> {
  const s = app.sluice;
  const a = o.answerer;
  app.post('/v1/topologies/:name/score', async (req: FastifyRequest<{ Params: { name: string } }>, reply: FastifyReply) => {
    if (req.params.name !== a.topology) throw new SluiceError('NOT_FOUND', `unknown topology "${req.params.name}"; this server answers for "${a.topology}"`);
    req.sluiceModel = a.model;
    const body = req.body;
    const many = Array.isArray(body);
    const values = many ? body : [body];
    if (body === undefined || body === null || (typeof body !== 'object')) throw new SluiceError('INVALID_INPUT', 'the body must be a JSON object (one record) or an array of records');
    if (!values.length) throw new SluiceError('INVALID_INPUT', 'the array of records is empty; send at least one record');
    const answers = await s.admission.run(req, reply, undefined, (call) => a.answer(values, call));
    const rows = answers.filter((x) => !('error' in x)).length;
    if (rows) s.metrics.inferences.inc({ model: a.model }, rows);
    if (many) return { topology: a.topology, results: answers };
    // One record: its own status, so a plain client sees a failure as one.
    const only = answers[0]!;
    if ('error' in only) return reply.code(ERROR_CODES[only.error.code].status).send(only);
    return only;
  });
}

export const topologyPlugin = fp(topologyRoutes, { name: 'sluice-topology', fastify: '5.x', dependencies: ['sluice-core'], encapsulate: true });
