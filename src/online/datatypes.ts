/**
 * Open Inference Protocol datatypes and how sluice carries each: ORT's type names map
 * to the protocol's, and the ModelRunner hands outputs out as Float32Array (FP32),
 * Float64Array (FP64, and every 64-bit or unsigned 32-bit integer, exact up to 2^53) or
 * Int32Array (INT32, BOOL and the small integers).
 */
const ORT_TO_V2: Record<string, string> = {
  float32: 'FP32',
  float64: 'FP64',
  float16: 'FP16',
  int64: 'INT64',
  int32: 'INT32',
  int16: 'INT16',
  int8: 'INT8',
  uint64: 'UINT64',
  uint32: 'UINT32',
  uint16: 'UINT16',
  uint8: 'UINT8',
  bool: 'BOOL',
  string: 'BYTES',
};

/** The protocol datatype of an ORT type ('unknown' metadata is reported as FP32, the only input type sluice feeds). */
export function v2Datatype(ortType: string): string {
  return ORT_TO_V2[ortType] ?? (ortType === 'unknown' ? 'FP32' : ortType.toUpperCase());
}

/** Bytes per element in the binary tensor data extension. */
export const ELEMENT_BYTES: Record<string, number> = { FP32: 4, FP64: 8, INT64: 8, INT32: 4, INT16: 2, INT8: 1, UINT64: 8, UINT32: 4, UINT16: 2, UINT8: 1, BOOL: 1, FP16: 2 };

/** JSON values of an output tensor, row-major: numbers, or booleans for BOOL. */
export function jsonData(datatype: string, data: ArrayLike<number>): (number | boolean)[] {
  const out: (number | boolean)[] = new Array(data.length);
  if (datatype === 'BOOL') for (let i = 0; i < data.length; i++) out[i] = data[i] !== 0;
  else for (let i = 0; i < data.length; i++) out[i] = data[i]!;
  return out;
}

/** Little-endian bytes of an output tensor for the binary data extension. */
export function binaryData(datatype: string, data: ArrayLike<number>): Buffer {
  const n = data.length;
  let arr: ArrayBufferView;
  switch (datatype) {
    case 'FP32': arr = Float32Array.from(data); break;
    case 'FP64': arr = Float64Array.from(data); break;
    case 'INT64': arr = BigInt64Array.from(Array.from(data, (x) => BigInt(x))); break;
    case 'UINT64': arr = BigUint64Array.from(Array.from(data, (x) => BigInt(x))); break;
    case 'INT32': arr = Int32Array.from(data); break;
    case 'UINT32': arr = Uint32Array.from(data); break;
    case 'INT16': arr = Int16Array.from(data); break;
    case 'UINT16': arr = Uint16Array.from(data); break;
    case 'INT8': arr = Int8Array.from(data); break;
    case 'UINT8': arr = Uint8Array.from(data); break;
    case 'BOOL': arr = Uint8Array.from(data, (x) => (x !== 0 ? 1 : 0)); break;
    default: throw new Error(`no binary form for datatype ${datatype} (${n} elements)`);
  }
  return Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength);
}
