/**
 * Model metadata and tensor conversion shared by the runner (main thread) and its
 * workers. Kept free of onnxruntime imports beyond types so the main thread loads the
 * native binding only when it runs small online batches itself (inline.ts).
 */
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import type { OutputTensor, TensorInfo } from './options.js';

/** Input/output descriptions from a session; names only when the runtime lacks `inputMetadata`. */
export function describeSession(s: InferenceSession): { inputs: TensorInfo[]; outputs: TensorInfo[] } {
  const describe = (names: readonly string[], meta: readonly InferenceSession.ValueMetadata[] | undefined): TensorInfo[] =>
    names.map((name, i) => {
      const m = meta?.[i];
      if (!m || m.name !== name) return { name, type: 'unknown', dims: [] };
      if (!m.isTensor) return { name, type: 'non-tensor', dims: [] };
      return { name, type: m.type, dims: [...m.shape] };
    });
  return { inputs: describe(s.inputNames, s.inputMetadata), outputs: describe(s.outputNames, s.outputMetadata) };
}

const fmt = (t: TensorInfo): string => `${t.name}: ${t.type} [${t.dims.join(',')}]`;

/** How requests map onto the model's single input. */
export interface InputLayout {
  /** A fixed batch size from the model (e.g. exported with batch 1); partial batches are zero-padded to it. */
  fixedBatch: number | null;
  /** Shape of one row (dims after the batch dimension) when all fixed, else null: width comes from each request. */
  row: number[] | null;
}

/** Checks the one-float32-input rule; throws with a message naming what was found. */
export function inputLayout(inputs: TensorInfo[]): InputLayout {
  const input = inputs[0];
  if (inputs.length !== 1 || !input || (input.type !== 'float32' && input.type !== 'unknown')) {
    throw new Error(`sluice supports models with exactly one float32 input; this one has ${inputs.length} input(s): ${inputs.map(fmt).join('; ') || 'none'}`);
  }
  if (input.dims.length === 0) return { fixedBatch: null, row: null }; // no metadata: assume [N, width]
  if (input.dims.length < 2) throw new Error(`input ${fmt(input)} has no feature dimension; expected [N, features...]`);
  const [batch, ...rest] = input.dims;
  const fixedBatch = typeof batch === 'number' && batch > 0 ? batch : null;
  if (rest.every((d): d is number => typeof d === 'number' && d > 0)) return { fixedBatch, row: rest };
  if (rest.length === 1) return { fixedBatch, row: null };
  throw new Error(`input ${fmt(input)} has symbolic dimensions after the batch dimension; only [N, features] may have a symbolic width`);
}

/**
 * Converts an ORT output to what the runner hands out. BigInt arrays become
 * Float64Array (exact up to 2^53), bool and small ints Int32Array, so callers never
 * see BigInt. float32/float64/int32 arrays are passed through (and transferred, not copied).
 */
export function toOutputTensor(name: string, t: Tensor): OutputTensor {
  const dims = t.dims.map(Number);
  const d = t.data;
  switch (t.type) {
    case 'float32':
    case 'float64':
    case 'int32':
      return { data: d as Float32Array | Float64Array | Int32Array, dims };
    case 'int64':
    case 'uint64':
      return { data: Float64Array.from(d as BigInt64Array, Number), dims };
    case 'uint32':
      return { data: Float64Array.from(d as Uint32Array), dims };
    case 'bool':
    case 'int8':
    case 'uint8':
    case 'int16':
    case 'uint16':
      return { data: Int32Array.from(d as Uint8Array), dims };
    default:
      throw new Error(`output "${name}" has type ${t.type}, which sluice does not convert`);
  }
}
