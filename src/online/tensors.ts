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

export function parseInferRequest(body: unknown, binary: Buffer | null, model: ModelSignature): InferRequest {
  if (!isObject(body)) throw bad('the request body must be a JSON object with "inputs" (see the Open Inference Protocol)');
  const { id, parameters = {}, inputs, outputs } = body;
  if (id !== undefined && typeof id !== 'string') throw bad(`"id" must be a string; got ${typeof id}`);
  if (!isObject(parameters)) throw bad('"parameters" must be an object');
  const names = model.inputs.map((i) => i.name).join(', ');
  if (!Array.isArray(inputs) || inputs.length !== model.inputs.length) {
    throw bad(`"inputs" must be a list of ${model.inputs.length} tensor(s) (model "${model.name}" takes ${names}); got ${Array.isArray(inputs) ? inputs.length : typeof inputs}`);
  }
  const info = model.inputs[0]!;
  const t: unknown = inputs[0];
  if (!isObject(t)) throw bad('inputs[0] must be an object with name, shape, datatype and data');
  if (t.name !== info.name) throw bad(`inputs[0].name: model "${model.name}" has no input ${JSON.stringify(t.name)}; its input is "${info.name}"`);
  const where = `input "${info.name}"`;
  const want = v2Datatype(info.type);
  if (t.datatype !== want) throw bad(`${where}: datatype must be ${want} (the model's); got ${JSON.stringify(t.datatype)}`);
  const shape = t.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && (d as number) >= 0)) throw bad(`${where}: shape must be a list of non-negative integers; got ${JSON.stringify(shape)}`);
  const expected = v2Shape(info);
  if (expected.length && shape.length !== expected.length) throw bad(`${where}: shape must have ${expected.length} dimensions, like [${expected.join(', ')}]; got [${shape.join(', ')}]`);
  for (const [k, d] of expected.entries()) {
    if (d >= 0 && shape[k] !== d) throw bad(`${where}: shape dimension ${k} must be ${d} (model shape [${expected.join(', ')}]); got [${shape.join(', ')}]`);
  }
  const rows = shape[0] as number | undefined;
  if (!rows) throw bad(`${where}: the first dimension (rows) must be at least 1; got [${shape.join(', ')}]`);
  const count = (shape as number[]).reduce((a, b) => a * b, 1);
  const params = t.parameters;
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
    data = flatten(t.data, count, where);
  }
  return { id, parameters, data, rows, outputs: requestedOutputs(outputs, parameters, model), timeoutMs: timeoutOf(parameters) };
}

/** Row-major numbers from flat or nested `data`, checked against the element count. */
function flatten(data: unknown, count: number, where: string): Float32Array {
  if (!Array.isArray(data)) throw bad(`${where}: data must be a list of numbers (flat or nested); got ${data === undefined ? 'nothing' : typeof data}`);
  const out = new Float32Array(count);
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
    if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`${where}: data element ${n} must be a finite number (FP32); got ${JSON.stringify(v)}`);
    if (n >= count) throw bad(`${where}: data holds more than the ${count} elements its shape gives`);
    out[n++] = v;
  }
  if (n !== count) throw bad(`${where}: its shape gives ${count} elements; data holds ${n}`);
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
