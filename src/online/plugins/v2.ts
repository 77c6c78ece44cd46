/**
 * sluice-v2: the Open Inference Protocol (KServe v2) REST API over the served models:
 * health, server and model metadata, model readiness and inference through the shared
 * ModelRunner (dynamic batching across concurrent requests, online priority).
 */
import { createRequire } from 'node:module';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { SluiceError } from '../../core/errors.js';
import { v2Datatype } from '../datatypes.js';
import { buildInferResponse, inferResponseJson, parseInferRequest, v2Shape, type ModelSignature } from '../tensors.js';
import type { ServedVersion } from '../served-models.js';

const VERSION = (createRequire(import.meta.url)('../../../../package.json') as { version: string }).version;
const HEADER_LENGTH = 'inference-header-content-length';

interface ModelParams {
  name: string;
  version?: string;
}

/** The JSON part and the binary part of an infer body (Triton's binary tensor data extension). */
function splitBody(req: FastifyRequest): { json: unknown; binary: Buffer | null } {
  const raw = req.body;
  const buf = Buffer.isBuffer(raw) ? raw : Buffer.alloc(0);
  const h = req.headers[HEADER_LENGTH];
  let jsonBytes = buf;
  let binary: Buffer | null = null;
  if (h !== undefined) {
    const n = Number(h);
    if (!Number.isInteger(n) || n < 0 || n > buf.length) throw new SluiceError('INVALID_INPUT', `header Inference-Header-Content-Length must be the JSON header's length in bytes (at most ${buf.length}); got ${JSON.stringify(h)}`);
    jsonBytes = buf.subarray(0, n);
    binary = buf.subarray(n);
  }
  if (!jsonBytes.length) throw new SluiceError('INVALID_INPUT', 'the request body is empty; send an inference request JSON object');
  try {
    return { json: JSON.parse(jsonBytes.toString('utf8')), binary };
  } catch (err) {
    throw new SluiceError('INVALID_INPUT', `the request body is not valid JSON: ${(err as Error).message}`);
  }
}

function metadata(app: FastifyInstance, v: ServedVersion): Record<string, unknown> {
  const r = v.runner;
  return {
    name: v.served,
    versions: app.sluice.models.versionsOf(v.served),
    platform: 'onnxruntime_onnx',
    inputs: r.inputs.map((t) => ({ name: t.name, datatype: v2Datatype(t.type), shape: v2Shape(t) })),
    outputs: r.outputs.map((t) => ({ name: t.name, datatype: v2Datatype(t.type), shape: v2Shape(t) })),
  };
}

async function v2(app: FastifyInstance): Promise<void> {
  const s = app.sluice;
  // Bodies are read as bytes and parsed here: Triton's clients send binary tensors after
  // the JSON, and may send no content type at all.
  app.removeAllContentTypeParsers();
  const asBytes = (_req: FastifyRequest, body: Buffer, done: (err: null, body: Buffer) => void): void => done(null, body);
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: s.config.bodyLimit }, asBytes);
  // The same parser under the type clients send: fastify caches the lookup of a named
  // type, while the catch-all alone is looked up (and its header parsed) on every request.
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: s.config.bodyLimit }, asBytes);

  app.get('/v2/health/live', async () => ({ live: true }));
  // The protocol: 200 when ready, a 4xx status otherwise.
  app.get('/v2/health/ready', async (_req, reply) => (s.ready() ? { ready: true } : reply.code(400).send({ ready: false })));
  app.get('/v2', async () => ({ name: 'sluice', version: VERSION, extensions: ['binary_tensor_data'] }));

  const ready = async (req: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const v = s.models.resolve(req.params.name, req.params.version);
    return s.ready() ? { name: v.served, ready: true } : reply.code(400).send({ name: v.served, ready: false });
  };
  app.get('/v2/models/:name/ready', ready);
  app.get('/v2/models/:name/versions/:version/ready', ready);

  const meta = async (req: FastifyRequest<{ Params: ModelParams }>) => metadata(app, s.models.resolve(req.params.name, req.params.version));
  app.get('/v2/models/:name', meta);
  app.get('/v2/models/:name/versions/:version', meta);

  // Per served version, made once: the signature requests are checked against and the inference counter's child.
  const perVersion = new WeakMap<ServedVersion, { sig: ModelSignature; rows: { inc(n: number): void } }>();
  const served = (v: ServedVersion) => {
    let p = perVersion.get(v);
    if (!p) perVersion.set(v, (p = { sig: { name: v.served, inputs: v.runner.inputs, outputs: v.runner.outputs }, rows: s.metrics.inferences.labels(v.served) }));
    return p;
  };

  const infer = async (req: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const v = s.models.resolve(req.params.name, req.params.version);
    const { sig, rows } = served(v);
    req.sluiceModel = v.served;
    const { json, binary } = splitBody(req);
    const parsed = parseInferRequest(json, binary, sig);
    const result = await s.admission.run(req, reply, parsed.timeoutMs, (call) =>
      v.runner.infer(parsed.data, parsed.rows, { priority: s.config.priority, deadline: call.deadline, signal: call.signal, noDelay: true }),
    );
    rows.inc(parsed.rows);
    if (!parsed.outputs.some((o) => o.binary)) return reply.type('application/json').send(inferResponseJson(sig, v.served, v.version, parsed, result));
    const out = buildInferResponse(sig, v.served, v.version, parsed, result);
    if (!out.binary.length) return reply.type('application/json').send(out.body);
    const head = Buffer.from(JSON.stringify(out.body), 'utf8');
    return reply.type('application/octet-stream').header('Inference-Header-Content-Length', String(head.length)).send(Buffer.concat([head, ...out.binary]));
  };
  app.post('/v2/models/:name/infer', infer);
  app.post('/v2/models/:name/versions/:version/infer', infer);
}

export const v2Plugin = fp(v2, { name: 'sluice-v2', fastify: '5.x', dependencies: ['sluice-core'], encapsulate: true });
