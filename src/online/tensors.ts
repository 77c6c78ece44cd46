/**
 * Inference requests and responses of the Open Inference Protocol (KServe v2) REST API:
 * checking a request's tensors against the model's metadata, and shaping the answer.
 * JSON tensors may carry `data` flat or nested (row-major either way); Triton's binary
 * tensor data extension is read and written too, since its Python client uses it by default.
 */
import { SluiceError } from '../core/errors.js';
import type { ModelOutput, TensorInfo } from '../model/index.js';
import { ELEMENT_BYTES, binaryData, jsonData, v2Datatype } from './datatypes.js';

export interface ModelSignature {
  name: string;
  inputs: readonly TensorInfo[];
  outputs: readonly TensorInfo[];
}

export interface RequestedOutput {
  name: string;
  binary: boolean;
}

export interface InferRequest {
  id: string | undefined;
  /** The request's parameters, as sent. */
  parameters: Record<string, unknown>;
  /** The one FP32 input, row-major. */
  data: Float32Array;
  rows: number;
  outputs: RequestedOutput[];
  /** From `parameters.timeout` (microseconds, as Triton's clients send it), in ms. */
  timeoutMs: number | undefined;
}

const bad = (msg: string): SluiceError => new SluiceError('INVALID_INPUT', msg);
const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** The protocol shape of a tensor: symbolic or unknown dimensions are -1. */
export function v2Shape(t: TensorInfo): number[] {
  return t.dims.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
}

/** What a request is checked against, worked out once per model rather than per request. */
interface Checks {
  input: TensorInfo;
  datatype: string;
  shape: number[];
  outputs: { name: string; datatype: string; json: string }[];
}
const checksOf = new WeakMap<readonly TensorInfo[], Checks>();

function checks(model: ModelSignature): Checks {
  let c = checksOf.get(model.inputs);
  if (!c || checksOf.get(model.outputs) !== c) {
    const input = model.inputs[0]!;
    c = {
      input,
      datatype: v2Datatype(input.type),
      shape: v2Shape(input),
      outputs: model.outputs.map((o) => ({ name: o.name, datatype: v2Datatype(o.type), json: `{"name":${JSON.stringify(o.name)},"datatype":${JSON.stringify(v2Datatype(o.type))},"shape":[` })),
    };
    checksOf.set(model.inputs, c);
    checksOf.set(model.outputs, c);
  }
  return c;
}

export function parseInferRequest(body: unknown, binary: Buffer | null, model: ModelSignature): InferRequest {
  if (!isObject(body)) throw bad('the request body must be a JSON object with "inputs" (see the Open Inference Protocol)');
  const { id, parameters = {}, inputs, outputs } = body;
  if (id !== undefined && typeof id !== 'string') throw bad(`"id" must be a string; got ${typeof id}`);
  if (!isObject(parameters)) throw bad('"parameters" must be an object');
  if (!Array.isArray(inputs) || inputs.length !== model.inputs.length) {
    const names = model.inputs.map((i) => i.name).join(', ');
    throw bad(`"inputs" must be a list of ${model.inputs.length} tensor(s) (model "${model.name}" takes ${names}); got ${Array.isArray(inputs) ? inputs.length : typeof inputs}`);
  }
  const c = checks(model);
  const info = c.input;
  const t: unknown = inputs[0];
  if (!isObject(t)) throw bad('inputs[0] must be an object with name, shape, datatype and data');
  if (t.name !== info.name) throw bad(`inputs[0].name: model "${model.name}" has no input ${JSON.stringify(t.name)}; its input is "${info.name}"`);
  if (t.datatype !== c.datatype) throw bad(`input "${info.name}": datatype must be ${c.datatype} (the model's); got ${JSON.stringify(t.datatype)}`);
  const shape = t.shape;
  if (!isShape(shape)) throw bad(`input "${info.name}": shape must be a list of non-negative integers; got ${JSON.stringify(shape)}`);
  const expected = c.shape;
  if (expected.length && shape.length !== expected.length) throw bad(`input "${info.name}": shape must have ${expected.length} dimensions, like [${expected.join(', ')}]; got [${shape.join(', ')}]`);
  let count = 1;
  for (let k = 0; k < shape.length; k++) {
    const d = expected[k];
    if (d !== undefined && d >= 0 && shape[k] !== d) throw bad(`input "${info.name}": shape dimension ${k} must be ${d} (model shape [${expected.join(', ')}]); got [${shape.join(', ')}]`);
    count *= shape[k]!;
  }
  const rows = shape[0];
  if (!rows) throw bad(`input "${info.name}": the first dimension (rows) must be at least 1; got [${shape.join(', ')}]`);
  const params = t.parameters;
  const where = `input "${info.name}"`;
  if (params !== undefined && !isObject(params)) throw bad(`${where}: parameters must be an object`);
  let data: Float32Array;
  const size = params?.binary_data_size;
  if (size !== undefined) {
    if (!binary) throw bad(`${where}: binary_data_size is set but the request carries no binary data (Inference-Header-Content-Length header)`);
    if (!Number.isInteger(size) || size !== count * ELEMENT_BYTES.FP32!) throw bad(`${where}: binary_data_size must be ${count * 4} bytes for shape [${shape.join(', ')}] of FP32; got ${String(size)}`);
    if (binary.length !== size) throw bad(`${where}: ${size} bytes of binary data expected after the JSON header; got ${binary.length}`);
    data = new Float32Array(count);
    new Uint8Array(data.buffer).set(binary);
  } else {
    data = flatten(t.data, count, info.name);
  }
  return { id, parameters, data, rows, outputs: requestedOutputs(outputs, parameters, model), timeoutMs: timeoutOf(parameters) };
}

function isShape(shape: unknown): shape is number[] {
  if (!Array.isArray(shape)) return false;
  for (let i = 0; i < shape.length; i++) {
    const d: unknown = shape[i];
    if (!Number.isInteger(d) || (d as number) < 0) return false;
  }
  return true;
}

/** Row-major numbers from flat or nested `data`, checked against the element count. */
function flatten(data: unknown, count: number, input: string): Float32Array {
  if (!Array.isArray(data)) throw bad(`input "${input}": data must be a list of numbers (flat or nested); got ${data === undefined ? 'nothing' : typeof data}`);
  const out = new Float32Array(count);
  // The common case, a flat list of exactly `count` numbers, in one pass without a stack.
  if (data.length === count) {
    let i = 0;
    for (; i < count; i++) {
      const v: unknown = data[i];
      if (typeof v !== 'number' || !Number.isFinite(v)) break;
      out[i] = v;
    }
    if (i === count) return out;
  }
  let n = 0;
  const stack: { list: unknown[]; i: number }[] = [{ list: data, i: 0 }];
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    if (top.i >= top.list.length) {
      stack.pop();
      continue;
    }
    const v = top.list[top.i++];
    if (Array.isArray(v)) {
      stack.push({ list: v, i: 0 });
      continue;
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`input "${input}": data element ${n} must be a finite number (FP32); got ${JSON.stringify(v)}`);
    if (n >= count) throw bad(`input "${input}": data holds more than the ${count} elements its shape gives`);
    out[n++] = v;
  }
  if (n !== count) throw bad(`input "${input}": its shape gives ${count} elements; data holds ${n}`);
  return out;
}

function requestedOutputs(outputs: unknown, parameters: Record<string, unknown>, model: ModelSignature): RequestedOutput[] {
  const binaryAll = parameters.binary_data_output === true;
  if (outputs === undefined) return model.outputs.map((o) => ({ name: o.name, binary: binaryAll }));
  if (!Array.isArray(outputs)) throw bad('"outputs" must be a list of {"name": ...}');
  const known = model.outputs.map((o) => o.name);
  return outputs.map((o: unknown, i) => {
    if (!isObject(o) || typeof o.name !== 'string') throw bad(`outputs[${i}] must be an object with a "name"`);
    if (!known.includes(o.name)) throw bad(`outputs[${i}]: model "${model.name}" has no output "${o.name}"; its outputs: ${known.join(', ')}`);
    const p = o.parameters;
    const b = isObject(p) && typeof p.binary_data === 'boolean' ? p.binary_data : binaryAll;
    return { name: o.name, binary: b };
  });
}

function timeoutOf(parameters: Record<string, unknown>): number | undefined {
  const t = parameters.timeout;
  if (t === undefined) return undefined;
  if (typeof t !== 'number' || !(t > 0)) throw bad(`parameters.timeout must be a positive number of microseconds; got ${JSON.stringify(t)}`);
  return t / 1000;
}

export interface InferResponse {
  body: Record<string, unknown>;
  /** Binary output data, in the order of the outputs that carry binary_data_size. */
  binary: Buffer[];
}

export function buildInferResponse(model: ModelSignature, servedName: string, version: string, req: InferRequest, result: ModelOutput): InferResponse {
  const binary: Buffer[] = [];
  const outputs = req.outputs.map((o) => {
    const info = model.outputs.find((x) => x.name === o.name)!;
    const t = result[o.name];
    if (!t) throw new SluiceError('MODEL_ERROR', `model "${model.name}" returned no output "${o.name}"`);
    const datatype = v2Datatype(info.type);
    if (o.binary) {
      const bytes = binaryData(datatype, t.data);
      binary.push(bytes);
      return { name: o.name, datatype, shape: t.dims, parameters: { binary_data_size: bytes.length } };
    }
    return { name: o.name, datatype, shape: t.dims, data: jsonData(datatype, t.data) };
  });
  const body: Record<string, unknown> = { model_name: servedName, model_version: version };
  if (req.id !== undefined) body.id = req.id;
  body.outputs = outputs;
  return { body, binary };
}

/**
 * The JSON answer when no output is binary (the common case), written straight to a
 * string: the same text JSON.stringify gives for buildInferResponse's body (keys in the
 * same order, non-finite numbers as null), without building the object and its arrays first.
 */
export function inferResponseJson(model: ModelSignature, servedName: string, version: string, req: InferRequest, result: ModelOutput): string {
  const c = checks(model);
  let s = `{"model_name":${JSON.stringify(servedName)},"model_version":${JSON.stringify(version)}`;
  if (req.id !== undefined) s += `,"id":${JSON.stringify(req.id)}`;
  s += ',"outputs":[';
  for (let k = 0; k < req.outputs.length; k++) {
    const name = req.outputs[k]!.name;
    const info = c.outputs.find((x) => x.name === name)!;
    const t = result[name];
    if (!t) throw new SluiceError('MODEL_ERROR', `model "${model.name}" returned no output "${name}"`);
    if (k) s += ',';
    s += info.json + t.dims.join(',') + '],"data":[';
    const d = t.data;
    if (info.datatype === 'BOOL') {
      for (let i = 0; i < d.length; i++) s += (i ? ',' : '') + (d[i] !== 0 ? 'true' : 'false');
    } else {
      for (let i = 0; i < d.length; i++) {
        const v = d[i]!;
        s += (i ? ',' : '') + (Number.isFinite(v) ? String(v) : 'null');
      }
    }
    s += ']}';
  }
  return s + ']}';
}
