/** POST /v1/topologies/{name}/score through inject(): answers in order, per-record errors, routes, filters. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { FEATURES, record, smallTopology, startService } from './helpers.js';

const service = await startService(smallTopology());
const app = service.app;
after(() => service.close());

const score = (body: unknown, name = 'small') => app.inject({ method: 'POST', url: `/v1/topologies/${name}/score`, payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

test('one record: the request path\'s answer, with the same score as /v2 infer on the same features (bit for bit)', async () => {
  const rec = record(1);
  const r = await score(rec);
  assert.equal(r.statusCode, 200, r.body);
  const a = r.json();
  assert.ok(a.route === 'scored' || a.route === 'alerts');
  assert.equal(a.route, a.value.risk > 0.5 ? 'alerts' : 'scored');
  const features = FEATURES.map((f) => a.value[f]);
  const v2 = await app.inject({ method: 'POST', url: '/v2/models/risk/versions/1/infer', payload: { inputs: [{ name: 'features', shape: [1, 8], datatype: 'FP32', data: features }] } });
  assert.equal(v2.json().outputs[0].data[0], a.value.risk);
});

test('an array is answered in order; a bad record gets its own error, a filtered one says which step dropped it', async () => {
  const good = record(2);
  const missing = { ...record(3), x3: null };
  const filtered = { ...record(4), x0: -500 };
  const r = await score([good, missing, 'text', filtered, record(5)]);
  assert.equal(r.statusCode, 200, r.body);
  const { topology, results } = r.json();
  assert.equal(topology, 'small');
  assert.equal(results.length, 5);
  assert.equal(results[0].value.x0, good.x0);
  assert.equal(typeof results[0].value.risk, 'number');
  assert.equal(results[1].error.step, 'features');
  assert.equal(results[1].error.code, 'EXPRESSION_ERROR');
  assert.match(results[1].error.message, /x3/);
  assert.deepEqual(results[2], { error: { code: 'INVALID_INPUT', message: 'record 2 must be a JSON object of fields; got string', step: 'request' } });
  assert.deepEqual(results[3], { route: null, filteredBy: 'positive-x0' });
  assert.equal(typeof results[4].value.risk, 'number');
});

test('a missing feature names the field; one failing record alone gets its status', async () => {
  const t = await startService(smallTopology({}, { name: 'direct', pipeline: [{ score: { id: 'm', model: 'risk', features: FEATURES } }, { sink: 'scored' }] } as never));
  after(() => t.close());
  const { f3: _drop, ...rest } = Object.fromEntries(FEATURES.map((f) => [f, 1]));
  const r = await t.app.inject({ method: 'POST', url: '/v1/topologies/direct/score', payload: rest });
  assert.equal(r.statusCode, 400);
  assert.deepEqual(r.json().error.code, 'MISSING_FEATURE');
  assert.equal(r.json().error.step, 'm');
  assert.match(r.json().error.message, /feature "f3" is missing/);
  const ok = await t.app.inject({ method: 'POST', url: '/v1/topologies/direct/score', payload: { ...rest, f3: 2 } });
  assert.equal(ok.json().route, 'scored');
  assert.equal(typeof ok.json().value.score, 'number');
});

test('errors use the error table: unknown topology 404, empty or non-record bodies 400', async () => {
  const nf = await score(record(1), 'other');
  assert.equal(nf.statusCode, 404);
  assert.equal(nf.json().error.code, 'NOT_FOUND');
  const empty = await score([]);
  assert.equal(empty.statusCode, 400);
  assert.equal(empty.json().error.code, 'INVALID_INPUT');
  const num = await score(42);
  assert.equal(num.statusCode, 400);
});

test('the topology endpoint takes JSON only: another content type gets 415 in the error format', async () => {
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
    const r = await app.inject({ method: 'POST', url: '/v1/topologies/small/score', payload: 'x=1', headers: { 'content-type': type } });
    assert.equal(r.statusCode, 415, `${type}: ${r.body}`);
    assert.equal(r.json().error.code, 'UNSUPPORTED_MEDIA_TYPE');
    assert.match(r.json().error.message, /application\/json/);
  }
});

test('records are checked up front against the score step\'s features: each bad record gets a 400 naming the field and what was expected, the others are scored', async () => {
  const t = await startService(smallTopology({}, { name: 'direct2', pipeline: [{ map: { id: 'prep', set: { f7: 'f0 * 2' } } }, { score: { id: 'm', model: 'risk', features: FEATURES } }, { sink: 'scored' }] } as never));
  after(() => t.close());
  assert.deepEqual(t.path.required.map((r) => r.field), FEATURES.slice(0, 7), 'f7 is set by the map step, so the request need not send it');
  const good = Object.fromEntries(FEATURES.slice(0, 7).map((f) => [f, 1]));
  const r = await t.app.inject({ method: 'POST', url: '/v1/topologies/direct2/score', payload: [good, { ...good, f2: 'high' }, { ...good, f5: null }, { ...good, f1: [1] }, good] });
  assert.equal(r.statusCode, 200, r.body);
  const results = r.json().results;
  assert.equal(results[0].route, 'scored');
  assert.deepEqual(results[1].error, { code: 'NON_NUMERIC_FEATURE', message: 'feature "f2" must be a finite number for score step "m"; got the string "high"', step: 'm' });
  assert.equal(results[2].error.code, 'MISSING_FEATURE');
  assert.match(results[2].error.message, /feature "f5" is missing: score step "m" needs it as a finite number/);
  assert.match(results[3].error.message, /"f1" must be a finite number .* got an array/);
  assert.equal(results[4].route, 'scored');
  assert.equal(results[0].value.f7, 2);
  const one = await t.app.inject({ method: 'POST', url: '/v1/topologies/direct2/score', payload: { ...good, f0: 'x' } });
  assert.equal(one.statusCode, 400);
  assert.equal(one.json().error.code, 'NON_NUMERIC_FEATURE');
  // A filter before the score step may drop a record first: nothing is required up front there.
  assert.deepEqual(service.path.required, []);
});

test('bodies with a __proto__ key are refused as by fastify\'s own JSON parser, escaped or not; bad JSON is a 400', async () => {
  for (const payload of ['{"__proto__": {"x": 1}, "a": 1}', '{"\\u005f_proto__": {"x": 1}}', '{"a": 1']) {
    const r = await app.inject({ method: 'POST', url: '/v1/topologies/small/score', payload, headers: { 'content-type': 'application/json' } });
    assert.equal(r.statusCode, 400, payload);
    assert.equal(r.json().error.code, 'INVALID_INPUT', payload);
  }
});
