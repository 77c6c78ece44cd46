/** Operations: auth, body limit, load shedding, deadlines in the queue, draining, cancelled clients, metrics. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import type { ModelRunner } from '../../src/model/index.js';
import { SMALL_MLP, smallTopology, startService } from './helpers.js';

const row = [0.5, -1.25, 3, 0.75, -0.1, 2.5, 1, -2];
const body = (rows = 1) => ({ inputs: [{ name: 'features', shape: [rows, 8], datatype: 'FP32', data: Array.from({ length: rows }, () => row).flat() }] });

/** A topology whose model waits `delayMs` for a batch to fill (so requests sit in its queue). */
function slowTopology(online: Record<string, unknown>, model: Record<string, unknown> = {}) {
  const t = smallTopology(online);
  t.definition.models!.risk = { path: SMALL_MLP, workers: 1, maxBatchSize: 4096, maxQueueDelayMs: 300, ...model };
  t.definition.online!.models = { risk: { versions: { '1': 'risk' } } };
  return t;
}

test('bearer auth: 401 without a token, 403 with a wrong one, 200 with a good one; health stays open', async () => {
  const s = await startService(smallTopology({ auth: { tokens: ['s3cret', 'other'] } }));
  try {
    const none = await s.app.inject('/v2/models/risk');
    assert.equal(none.statusCode, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    assert.match(none.json().error, /Authorization: Bearer/);
    const wrong = await s.app.inject({ url: '/v2/models/risk', headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.statusCode, 403);
    const v1 = await s.app.inject({ method: 'POST', url: '/v1/topologies/small/score', payload: {}, headers: { authorization: 'Bearer nope' } });
    assert.equal(v1.json().error.code, 'FORBIDDEN');
    assert.equal((await s.app.inject({ url: '/v2/models/risk', headers: { authorization: 'Bearer other' } })).statusCode, 200);
    assert.equal((await s.app.inject('/v2/health/ready')).statusCode, 200);
  } finally {
    await s.close();
  }
});

test('a body over the limit is 413', async () => {
  const s = await startService(smallTopology({ bodyLimit: 1000 }));
  try {
    const r = await s.app.inject({ method: 'POST', url: '/v2/models/risk/infer', payload: body(40), headers: { 'content-type': 'application/json' } });
    assert.equal(r.statusCode, 413);
    assert.match(r.json().error, /online.bodyLimit/);
    const t = await s.app.inject({ method: 'POST', url: '/v1/topologies/small/score', payload: Array.from({ length: 200 }, () => ({ x0: 1 })) });
    assert.equal(t.statusCode, 413);
    assert.equal(t.json().error.code, 'PAYLOAD_TOO_LARGE');
  } finally {
    await s.close();
  }
});

test('load shedding: past online.maxInFlight and past the model queue\'s bound, 429', async () => {
  const s = await startService(slowTopology({ maxInFlight: 2 }, { maxQueueRows: 3 }));
  try {
    const post = (rows: number) => s.app.inject({ method: 'POST', url: '/v2/models/risk/infer', payload: body(rows) });
    // Two rows queue; three more do not fit the model queue (3 rows): 429 from the runner.
    const first = post(2);
    await new Promise((r) => setTimeout(r, 20));
    const tooBig = await post(3);
    assert.equal(tooBig.statusCode, 429);
    assert.match(tooBig.json().error, /queue full/);
    // One more in flight makes two: the third request is shed by admission.
    const second = post(1);
    await new Promise((r) => setTimeout(r, 20));
    const shed = await post(1);
    assert.equal(shed.statusCode, 429);
    assert.match(shed.json().error, /maxInFlight 2/);
    assert.equal((await first).statusCode, 200);
    assert.equal((await second).statusCode, 200);
    const text = await s.metrics.registry.getSingleMetricAsString('sluice_online_rejections_total');
    assert.match(text, /reason="queue_full"\} 2/);
  } finally {
    await s.close();
  }
});

test('a deadline passes while the request waits in the model queue: 504 at the deadline, dropped before scoring', async () => {
  const s = await startService(slowTopology({}));
  try {
    const runner = s.app.sluice.models.resolve('risk').runner as ModelRunner;
    const t0 = Date.now();
    const r = await s.app.inject({ method: 'POST', url: '/v2/models/risk/infer', payload: body(1), headers: { 'sluice-timeout-ms': '40' } });
    const took = Date.now() - t0;
    assert.equal(r.statusCode, 504);
    assert.match(r.json().error, /deadline \(40 ms\)/);
    assert.ok(took < 250, `answered after ${took} ms; the batch delay is 300 ms`);
    assert.equal(runner.stats().queuedRows, 0);
    // The timeout parameter (microseconds, as Triton's clients send it) works the same.
    const p = await s.app.inject({ method: 'POST', url: '/v2/models/risk/infer', payload: { ...body(1), parameters: { timeout: 30_000 } } });
    assert.equal(p.statusCode, 504);
    const v1 = await s.app.inject({ method: 'POST', url: '/v1/topologies/small/score', payload: { x0: 1, x1: 1, x2: 1, x3: 1, x4: 1, x5: 1, x6: 1, x7: 1 }, headers: { 'sluice-timeout-ms': '30' } });
    assert.equal(v1.statusCode, 504);
    assert.equal(v1.json().error.code, 'DEADLINE_EXCEEDED');
    // Nothing was scored: no batch ran.
    const calls = await s.metrics.registry.getSingleMetricAsString('sluice_model_batch_rows');
    assert.doesNotMatch(calls, /sluice_model_batch_rows_count\{model="risk"\} [1-9]/);
  } finally {
    await s.close();
  }
});

test('draining: in-flight requests finish, new ones get 503, readiness turns 4xx', async () => {
  const s = await startService(slowTopology({}));
  try {
    const inflight = s.app.inject({ method: 'POST', url: '/v2/models/risk/infer', payload: body(1) });
    await new Promise((r) => setTimeout(r, 20));
    const drained = s.app.sluice.admission.drain();
    const late = await s.app.inject({ method: 'POST', url: '/v2/models/risk/infer', payload: body(1) });
    assert.equal(late.statusCode, 503);
    assert.match(late.json().error, /draining/);
    assert.equal((await s.app.inject('/v2/health/ready')).statusCode, 400);
    assert.equal((await s.app.inject('/v2/health/live')).statusCode, 200);
    assert.equal((await inflight).statusCode, 200);
    assert.equal(await drained, true);
  } finally {
    await s.close();
  }
});

test('clients that disconnect under load free their slots: the queue empties and the server stays healthy', async () => {
  const s = await startService(slowTopology({ maxInFlight: 64 }, { maxQueueRows: 64 }));
  try {
    const url = new URL(await s.listen());
    const runner = s.app.sluice.models.resolve('risk').runner as ModelRunner;
    const payload = JSON.stringify(body(1));
    const reqs = Array.from({ length: 60 }, () => {
      const req = request({ host: url.hostname, port: url.port, method: 'POST', path: '/v2/models/risk/infer', headers: { 'content-type': 'application/json' } });
      req.on('error', () => undefined);
      req.end(payload);
      return req;
    });
    // Wait until they are all queued (the batch waits 300 ms), then hang up on every one.
    for (let i = 0; i < 50 && runner.stats().queuedRows < 60; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(runner.stats().queuedRows, 60);
    for (const r of reqs) r.destroy();
    for (let i = 0; i < 50 && (runner.stats().queuedRows > 0 || s.app.sluice.admission.inFlight > 0); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(runner.stats().queuedRows, 0);
    assert.equal(s.app.sluice.admission.inFlight, 0);
    // The slots are free: a full queue's worth of new requests is admitted and answered.
    const rs = await Promise.all(Array.from({ length: 64 }, () => fetch(`${url.origin}/v2/models/risk/infer`, { method: 'POST', body: payload, headers: { 'content-type': 'application/json' } })));
    assert.deepEqual([...new Set(rs.map((r) => r.status))], [200]);
    const text = await s.metrics.registry.getSingleMetricAsString('sluice_online_rejections_total');
    assert.match(text, /reason="cancelled"\} 60/);
    assert.equal((await fetch(`${url.origin}/v2/health/ready`)).status, 200);
  } finally {
    await s.close();
  }
});

test('/metrics: latency by route, model and status, in-flight, rows scored', async () => {
  const s = await startService(smallTopology());
  try {
    await s.app.inject({ method: 'POST', url: '/v2/models/risk/infer', payload: body(2) });
    await s.app.inject('/v2/models/nope');
    const text = (await s.app.inject('/metrics')).body;
    assert.match(text, /sluice_http_request_duration_seconds_count\{route="\/v2\/models\/:name\/infer",model="risk",status="200"\} 1/);
    assert.match(text, /sluice_http_request_duration_seconds_count\{route="\/v2\/models\/:name",model="",status="404"\} 1/);
    assert.match(text, /sluice_online_inference_rows_total\{model="risk"\} 2/);
    assert.match(text, /sluice_online_inflight_requests 0/);
    assert.match(text, /sluice_model_queue_seconds_count\{model="risk-v2"\} 1/);
  } finally {
    await s.close();
  }
});

test('a request that arrives while the server closes gets 503 in the error format, not fastify\'s own body', async () => {
  const s = await startService(slowTopology({}));
  const url = new URL(await s.listen());
  // Two requests on one keep-alive socket: the first sits in the model queue (300 ms), the
  // server starts closing, and the second arrives on the still busy connection.
  const payload = JSON.stringify(body(1));
  const req = `POST /v2/models/risk/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`;
  const sock = connect(Number(url.port), url.hostname);
  let raw = '';
  sock.on('data', (d: Buffer) => (raw += d.toString()));
  const ended = new Promise<void>((r) => sock.on('close', () => r()));
  sock.write(req);
  await new Promise((r) => setTimeout(r, 50));
  const closing = s.app.close();
  await new Promise((r) => setTimeout(r, 30));
  sock.write(req);
  await closing;
  await ended;
  const statuses = [...raw.matchAll(/HTTP\/1\.1 (\d+)/g)].map((m) => Number(m[1]));
  assert.deepEqual(statuses, [200, 503], raw);
  const last = raw.slice(raw.lastIndexOf('\r\n\r\n') + 4);
  assert.deepEqual(Object.keys(JSON.parse(last)), ['error'], raw);
  assert.match(last, /shutting down/);
});
