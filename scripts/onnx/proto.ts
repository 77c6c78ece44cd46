/**
 * A tiny layer over onnx-proto for writing ONNX models from code: just enough for
 * the MLPs in build-models.ts and the odd-shaped models the tests need.
 * IR version 8, opset 17, weights as little-endian `rawData`.
 */
import onnxProto from 'onnx-proto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const { onnx } = onnxProto;
type ElemName = 'float' | 'int64' | 'int32' | 'bool' | 'double';
const ELEM: Record<ElemName, number> = {
  float: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  bool: onnx.TensorProto.DataType.BOOL,
  double: onnx.TensorProto.DataType.DOUBLE,
};

export interface ValueSpec { name: string; type: ElemName; dims: (number | string)[] }
export interface NodeSpec { op: string; inputs: string[]; outputs: string[]; attrs?: Record<string, number | number[]> }
export interface InitSpec { name: string; dims: number[]; data: Float32Array | BigInt64Array }
export interface GraphSpec { name: string; inputs: ValueSpec[]; outputs: ValueSpec[]; nodes: NodeSpec[]; initializers: InitSpec[] }

function valueInfo(v: ValueSpec): onnxProto.onnx.IValueInfoProto {
  const dim = v.dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d }));
  return { name: v.name, type: { tensorType: { elemType: ELEM[v.type], shape: { dim } } } };
}

function attribute(name: string, value: number | number[]): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  // Gemm's alpha/beta are floats; every other attribute used here is an int.
  return Number.isInteger(value) && name !== 'alpha' && name !== 'beta' ? { name, type: T.INT, i: value } : { name, type: T.FLOAT, f: value };
}

/** Serializes a graph to ONNX bytes. */
export function encodeModel(g: GraphSpec): Uint8Array {
  const model: onnxProto.onnx.IModelProto = {
    irVersion: 8,
    producerName: 'sluice',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: g.name,
      input: g.inputs.map(valueInfo),
      output: g.outputs.map(valueInfo),
      node: g.nodes.map((n, i) => ({
        name: `${n.op.toLowerCase()}_${i}`,
        opType: n.op,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attribute(k, v)),
      })),
      initializer: g.initializers.map((t) => ({
        name: t.name,
        dims: t.dims,
        dataType: t.data instanceof Float32Array ? ELEM.float : ELEM.int64,
        // The host is little-endian (x64/arm64), as ONNX rawData requires.
        rawData: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
      })),
    },
  };
  return onnx.ModelProto.encode(model).finish();
}

export function writeModel(path: string, g: GraphSpec): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, encodeModel(g));
}

/** mulberry32: a fixed, seeded PRNG so model files are byte-for-byte reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
