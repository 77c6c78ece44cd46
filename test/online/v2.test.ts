/** The Open Inference Protocol routes through inject(): every endpoint and every error status. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { directRun } from '../model/helpers.js';
import { SMALL_MLP, smallTopology, startService } from './helpers.js';

const service = await startService(smallTopology());
const app = service.app;
after(() => service.close());

const row = [0.5, -1.25, 3, 0.75, -0.1, 2.5, 1, -2];
const infer = (body: unknown, url = '/v2/models/risk/infer', headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url, payload: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });

test('health, server metadata, model metadata and readiness', async () => {
  assert.deepEqual((await app.inject('/v2/health/live')).json(), { live: true });
  const ready = await app.inject('/v2/health/ready');
  assert.equal(ready.statusCode, 200);
  const meta = (await app.inject('/v2')).json();
  assert.equal(meta.name, 'sluice');
  assert.ok(Array.isArray(meta.extensions));
  const m = (await app.inject('/v2/models/risk')).json();
  assert.deepEqual(m, {
    name: 'risk',
    versions: ['1', '2'],
    platform: 'onnxruntime_onnx',
    inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 8] }],
    outputs: [{ name: 'score', datatype: 'FP32', shape: [-1, 1] }],
  });
  assert.equal((await app.inject('/v2/models/risk/versions/1')).json().name, 'risk');
  const odd = (await app.inject('/v2/models/odd')).json();
  assert.deepEqual(odd.outputs.map((o: { datatype: string }) => o.datatype), ['INT64', 'BOOL', 'FP32']);
  assert.deepEqual((await app.inject('/v2/models/risk/ready')).json(), { name: 'risk', ready: true });
  assert.equal((await app.inject('/v2/models/risk/versions/2/ready')).statusCode, 200);
});

test('unknown models, versions and routes are 404 with {"error"}', async () => {
  for (const url of ['/v2/models/nope', '/v2/models/risk/versions/9', '/v2/models/nope/ready', '/v2/nothing']) {
    const r = await app.inject(url);
    assert.equal(r.statusCode, 404, url);
    assert.equal(typeof r.json().error, 'string', url);
  }
  const r = await infer({ inputs: [] }, '/v2/models/nope/infer');
  assert.equal(r.statusCode, 404);
  assert.match(r.json().error, /unknown model "nope"; served models: risk, odd, casts/);
});

test('infer: flat and nested data give the model\'s numbers, id is echoed, both versions answer', async () => {
  const data = new Float32Array([...row, ...row.map((x) => -x)]);
  const ref = (await directRun(SMALL_MLP, data, [2, 8])).score!.data as Float32Array;
  const flat = await infer({ id: 'req-1', inputs: [{ name: 'features', shape: [2, 8], datatype: 'FP32', data: Array.from(data) }] });
  assert.equal(flat.statusCode, 200, flat.body);
  const body = flat.json();
  assert.equal(body.id, 'req-1');
  assert.equal(body.model_name, 'risk');
  assert.equal(body.model_version, '2');
  assert.deepEqual(body.outputs, [{ name: 'score', datatype: 'FP32', shape: [2, 1], data: Array.from(ref) }]);
  const nested = await infer({ inputs: [{ name: 'features', shape: [2, 8], datatype: 'FP32', data: [Array.from(data.subarray(0, 8)), Array.from(data.subarray(8))] }] }, '/v2/models/risk/versions/1/infer');
  assert.equal(nested.json().model_version, '1');
  assert.deepEqual(nested.json().outputs[0].data, Array.from(ref));
  assert.equal(nested.json().id, undefined);
});

test('infer: INT64, BOOL and FP32 outputs, and outputs selection', async () => {
  const x = [1.5, -2, 3.2, 0.1];
  const all = await infer({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: x }] }, '/v2/models/odd/infer');
  assert.equal(all.statusCode, 200, all.body);
  assert.deepEqual(all.json().outputs, [
    { name: 'idx', datatype: 'INT64', shape: [1, 1], data: [2] },
    { name: 'pos', datatype: 'BOOL', shape: [1, 4], data: [true, false, true, true] },
    { name: 'picked', datatype: 'FP32', shape: [1, 4], data: [10, 60, 30, 0] },
  ]);
  const picked = await infer({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: x }], outputs: [{ name: 'pos' }] }, '/v2/models/odd/infer');
  assert.deepEqual(picked.json().outputs.map((o: { name: string }) => o.name), ['pos']);
});

test('infer: FP64 and INT32 outputs, as JSON and as binary', async () => {
  const x = [1.25, -2.75, 3.5, 0.1];
  const r = await infer({ inputs: [{ name: 'x', shape: [2, 2], datatype: 'FP32', data: [[1.25, -2.75], [3.5, 0.1]] }] }, '/v2/models/casts/infer');
  assert.equal(r.statusCode, 200, r.body);
  assert.deepEqual(r.json().outputs, [
    { name: 'd', datatype: 'FP64', shape: [2, 2], data: Array.from(new Float32Array(x)) },
    { name: 'i', datatype: 'INT32', shape: [2, 2], data: [1, -2, 3, 0] },
  ]);
  const b = await infer({ inputs: [{ name: 'x', shape: [2, 2], datatype: 'FP32', data: x }], parameters: { binary_data_output: true } }, '/v2/models/casts/infer');
  const n = Number(b.headers['inference-header-content-length']);
  assert.equal(b.rawPayload.readDoubleLE(n + 16), Math.fround(3.5));
  assert.equal(b.rawPayload.readInt32LE(n + 32 + 4), -2);
});

test('binary tensor data extension: binary input and binary outputs', async () => {
  const data = new Float32Array(row);
  const head = Buffer.from(JSON.stringify({ inputs: [{ name: 'features', shape: [1, 8], datatype: 'FP32', parameters: { binary_data_size: 32 } }], parameters: { binary_data_output: true } }));
  const r = await app.inject({ method: 'POST', url: '/v2/models/risk/infer', payload: Buffer.concat([head, Buffer.from(data.buffer)]), headers: { 'inference-header-content-length': String(head.length) } });
  assert.equal(r.statusCode, 200, r.body);
  const n = Number(r.headers['inference-header-content-length']);
  const json = JSON.parse(r.rawPayload.subarray(0, n).toString());
  assert.deepEqual(json.outputs, [{ name: 'score', datatype: 'FP32', shape: [1, 1], parameters: { binary_data_size: 4 } }]);
  const ref = (await directRun(SMALL_MLP, data, [1, 8])).score!.data as Float32Array;
  assert.equal(r.rawPayload.readFloatLE(n), ref[0]);
});

test('strict validation: 400 naming the input and what was expected', async () => {
  const cases: [unknown, RegExp][] = [
    [{ inputs: [{ name: 'features', shape: [1, 8], datatype: 'FP64', data: row }] }, /input "features": datatype must be FP32 \(the model's\); got "FP64"/],
    [{ inputs: [{ name: 'feats', shape: [1, 8], datatype: 'FP32', data: row }] }, /has no input "feats"; its input is "features"/],
    [{ inputs: [{ name: 'features', shape: [1, 7], datatype: 'FP32', data: row.slice(1) }] }, /shape dimension 1 must be 8/],
    [{ inputs: [{ name: 'features', shape: [8], datatype: 'FP32', data: row }] }, /shape must have 2 dimensions/],
    [{ inputs: [{ name: 'features', shape: [2, 8], datatype: 'FP32', data: row }] }, /its shape gives 16 elements; data holds 8/],
    [{ inputs: [{ name: 'features', shape: [1, 8], datatype: 'FP32', data: [...row.slice(1), 'x'] }] }, /data element 7 must be a finite number/],
    [{ inputs: [{ name: 'features', shape: [1, 8], datatype: 'FP32', data: row }], outputs: [{ name: 'nope' }] }, /has no output "nope"; its outputs: score/],
    [{ nothing: true }, /"inputs" must be a list of 1 tensor/],
    [{ inputs: [{ name: 'features', shape: [1, 8], datatype: 'FP32', data: row }], parameters: { timeout: -5 } }, /parameters.timeout must be a positive number of microseconds/],
  ];
  for (const [body, msg] of cases) {
    const r = await infer(body);
    assert.equal(r.statusCode, 400, JSON.stringify(body));
    assert.match(r.json().error, msg);
  }
  const notJson = await app.inject({ method: 'POST', url: '/v2/models/risk/infer', payload: '{"inputs": [', headers: { 'content-type': 'application/json' } });
  assert.equal(notJson.statusCode, 400);
  assert.match(notJson.json().error, /not valid JSON/);
});

test('the infer path batches concurrent requests into shared model calls', async () => {
  const before = await batchCalls(service.metrics);
  const rs = await Promise.all(Array.from({ length: 40 }, () => infer({ inputs: [{ name: 'features', shape: [1, 8], datatype: 'FP32', data: row }] })));
  assert.ok(rs.every((r) => r.statusCode === 200));
  const after = await batchCalls(service.metrics);
  assert.equal(after.rows - before.rows, 40);
  assert.ok(after.calls - before.calls < 40, `40 requests took ${after.calls - before.calls} model calls`);
});

async function batchCalls(metrics: { registry: { getSingleMetricAsString(n: string): Promise<string> } }): Promise<{ rows: number; calls: number }> {
  const text = await metrics.registry.getSingleMetricAsString('sluice_model_batch_rows');
  const sum = /sluice_model_batch_rows_sum\{model="risk-v2"\} (\S+)/.exec(text);
  const count = /sluice_model_batch_rows_count\{model="risk-v2"\} (\S+)/.exec(text);
  return { rows: Number(sum?.[1] ?? 0), calls: Number(count?.[1] ?? 0) };
}
