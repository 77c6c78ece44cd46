/**
 * Column chunks for the Parquet writer. sluice writes flat, optional columns only, so
 * it encodes them here instead of through hyparquet-writer's general (nested) path,
 * which builds a level and a boxed value per row: definition levels are one bit per
 * row (a single RLE run when a page has no null), fixed-width values go out straight
 * from the typed arrays they were buffered in, strings get a dictionary while it stays
 * small. hyparquet-writer still writes the page headers and the footer.
 *
 * Pages are DATA_PAGE_V2 (levels uncompressed, values compressed), about 1 MiB each.
 */
import { writePageHeader } from 'hyparquet-writer/src/datapage.js';
import type { writeMetadata } from 'hyparquet-writer/src/metadata.js';

type Writer = Parameters<typeof writePageHeader>[0];
type FileMetaData = Parameters<typeof writeMetadata>[1];
export type RowGroup = FileMetaData['row_groups'][number];
export type SchemaElement = FileMetaData['schema'][number];
type ColumnChunk = RowGroup['columns'][number];
type ColumnMetaData = NonNullable<ColumnChunk['meta_data']>;
type Statistics = NonNullable<ColumnMetaData['statistics']>;

export type ChunkType = 'DOUBLE' | 'FLOAT' | 'INT64' | 'INT32' | 'STRING' | 'BOOLEAN' | 'DATE' | 'TIMESTAMP_MILLIS' | 'TIMESTAMP_MICROS' | 'TIMESTAMP_NANOS' | 'JSON';
export type Codec = 'SNAPPY' | 'GZIP' | 'ZSTD' | 'UNCOMPRESSED';

/** One column's buffered rows, as the writer keeps them. */
export interface ChunkSource {
  name: string;
  type: ChunkType;
  /** Rows in the chunk. */
  count: number;
  /** 1 = null, for the first `count` rows. */
  isNull: Uint8Array;
  /** DOUBLE, FLOAT, INT32, DATE and TIMESTAMP_* (as epoch milliseconds, possibly fractional) values. */
  num: Float64Array;
  /** INT64 values. */
  big: BigInt64Array | undefined;
  /** STRING, BOOLEAN and JSON values. */
  arr: unknown[] | undefined;
}

const PAGE_BYTES = 1 << 20;
/** Past this many distinct strings (or bytes of them) a chunk is written PLAIN. */
const MAX_DICT_ENTRIES = 1 << 15;
const MAX_DICT_BYTES = 1 << 20;

const PHYSICAL: Record<ChunkType, ColumnMetaData['type']> = {
  DOUBLE: 'DOUBLE', FLOAT: 'FLOAT', INT64: 'INT64', INT32: 'INT32', DATE: 'INT32', TIMESTAMP_MILLIS: 'INT64', TIMESTAMP_MICROS: 'INT64', TIMESTAMP_NANOS: 'INT64', STRING: 'BYTE_ARRAY', JSON: 'BYTE_ARRAY', BOOLEAN: 'BOOLEAN',
};

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('sluice Parquet writer: big-endian platforms are not supported');

/**
 * The non-null values of a chunk, encoded: fixed-width bytes (width > 0), byte arrays
 * (PLAIN, 4-byte length prefix each), dictionary indices, or bits (BOOLEAN).
 */
interface Values {
  encoding: 'PLAIN' | 'RLE_DICTIONARY';
  /** Bytes of value v (fixed width) or of value v's PLAIN form (byte arrays). */
  width: number;
  bytes: Uint8Array;
  /** Byte arrays: where each value's PLAIN form starts (length count + 1). */
  starts?: Uint32Array;
  /** Dictionary encoding: the index of each value, and the dictionary's PLAIN page body. */
  indices?: Uint32Array;
  dictionary?: { body: Uint8Array; entries: number };
  bits?: Uint8Array;
  min?: Statistics['min_value'];
  max?: Statistics['max_value'];
}

/** Appends one column chunk (dictionary page, data pages) and returns its metadata. */
export function writeChunk(out: Writer, src: ChunkSource, codec: Codec, compress: ((b: Uint8Array) => Uint8Array) | undefined): ColumnChunk {
  const { count, isNull } = src;
  const nulls = countNulls(isNull, 0, count);
  const values = encodeValues(src, count - nulls);
  const start = out.offset;
  let uncompressed = 0;
  let dictionaryOffset: bigint | undefined;
  const pack = (raw: Uint8Array): Uint8Array => (compress ? compress(raw) : raw);
  if (values.dictionary) {
    dictionaryOffset = BigInt(out.offset);
    const body = pack(values.dictionary.body);
    const h0 = out.offset;
    writePageHeader(out, {
      type: 'DICTIONARY_PAGE',
      uncompressed_page_size: values.dictionary.body.length,
      compressed_page_size: body.length,
      dictionary_page_header: { num_values: values.dictionary.entries, encoding: 'PLAIN' },
    });
    out.appendBytes(body);
    uncompressed += out.offset - h0 - body.length + values.dictionary.body.length;
  }
  const dataOffset = BigInt(out.offset);
  let pages = 0;
  for (let r0 = 0, v0 = 0; r0 < count; pages++) {
    const r1 = pageEnd(values, isNull, r0, v0, count);
    const pageNulls = nulls === 0 ? 0 : countNulls(isNull, r0, r1);
    const v1 = v0 + (r1 - r0 - pageNulls);
    const levels = definitionLevels(isNull, r0, r1, pageNulls);
    const raw = pageValues(values, v0, v1);
    const body = pack(raw);
    const h0 = out.offset;
    writePageHeader(out, {
      type: 'DATA_PAGE_V2',
      uncompressed_page_size: levels.length + raw.length,
      compressed_page_size: levels.length + body.length,
      data_page_header_v2: {
        num_values: r1 - r0, num_nulls: pageNulls, num_rows: r1 - r0, encoding: values.encoding,
        definition_levels_byte_length: levels.length, repetition_levels_byte_length: 0, is_compressed: codec !== 'UNCOMPRESSED',
      },
    });
    out.appendBytes(levels);
    out.appendBytes(body);
    uncompressed += out.offset - h0 - body.length + raw.length;
    r0 = r1;
    v0 = v1;
  }
  const statistics: Statistics = { null_count: BigInt(nulls) };
  if (values.min !== undefined) statistics.min_value = values.min;
  if (values.max !== undefined) statistics.max_value = values.max;
  const noStats = src.type === 'DOUBLE' || src.type === 'FLOAT'; // as before: floats rarely gain from min/max
  return {
    file_offset: BigInt(start),
    meta_data: {
      type: PHYSICAL[src.type],
      encodings: values.dictionary ? ['PLAIN', 'RLE_DICTIONARY'] : ['PLAIN'],
      path_in_schema: [src.name],
      codec,
      num_values: BigInt(count),
      total_uncompressed_size: BigInt(uncompressed),
      total_compressed_size: BigInt(out.offset - start),
      data_page_offset: dataOffset,
      ...(dictionaryOffset !== undefined ? { dictionary_page_offset: dictionaryOffset } : {}),
      ...(noStats ? {} : { statistics }),
    },
  };
}

/** Nulls among rows [r0, r1); indexOf (a native scan) settles the common no-null case. */
function countNulls(isNull: Uint8Array, r0: number, r1: number): number {
  const first = isNull.subarray(r0, r1).indexOf(1);
  if (first === -1) return 0;
  let n = 0;
  for (let i = r0 + first; i < r1; i++) n += isNull[i]!;
  return n;
}

/** The end (exclusive row) of the page starting at row r0, value v0: about PAGE_BYTES of values. */
function pageEnd(values: Values, isNull: Uint8Array, r0: number, v0: number, count: number): number {
  if (values.starts === undefined) {
    // Fixed width, indices or bits: the page size follows from the row count.
    const perRow = values.indices ? 4 : values.bits ? 1 : values.width;
    return Math.min(count, r0 + Math.max(1, Math.floor(PAGE_BYTES / perRow)));
  }
  const starts = values.starts;
  let r = r0;
  let v = v0;
  while (r < count && starts[v]! - starts[v0]! < PAGE_BYTES) {
    if (!isNull[r]) v++;
    r++;
  }
  return Math.max(r, r0 + 1);
}

/** Definition levels of rows [r0, r1) as an RLE/bit-packed hybrid of width 1. */
function definitionLevels(isNull: Uint8Array, r0: number, r1: number, nulls: number): Uint8Array {
  const n = r1 - r0;
  if (nulls === 0) return withVarint(n << 1, new Uint8Array([1])); // one run of 1s
  if (nulls === n) return withVarint(n << 1, new Uint8Array([0]));
  const bits = new Uint8Array(Math.ceil(n / 8));
  for (let i = 0; i < n; i++) if (!isNull[r0 + i]) bits[i >> 3]! |= 1 << (i & 7);
  return withVarint((bits.length << 1) | 1, bits); // one bit-packed run of ceil(n/8) groups
}

function withVarint(header: number, body: Uint8Array): Uint8Array {
  const head: number[] = [];
  let h = header;
  while (h >= 0x80) {
    head.push((h & 0x7f) | 0x80);
    h >>>= 7;
  }
  head.push(h);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/** Values [v0, v1) of the chunk as a page body (before compression). */
function pageValues(values: Values, v0: number, v1: number): Uint8Array {
  if (values.indices) return bitPack(values.indices, v0, v1);
  if (values.bits) {
    // PLAIN booleans: bit-packed, LSB first, from value v0.
    const out = new Uint8Array(Math.ceil((v1 - v0) / 8));
    for (let v = v0; v < v1; v++) if ((values.bits[v >> 3]! >> (v & 7)) & 1) out[(v - v0) >> 3]! |= 1 << ((v - v0) & 7);
    return out;
  }
  if (values.starts) return values.bytes.subarray(values.starts[v0], values.starts[v1]);
  return values.bytes.subarray(v0 * values.width, v1 * values.width);
}

/** Dictionary indices [v0, v1): a bit width byte, then one bit-packed run (widths up to 16). */
function bitPack(indices: Uint32Array, v0: number, v1: number): Uint8Array {
  let top = 1;
  for (let v = v0; v < v1; v++) if (indices[v]! > top) top = indices[v]!;
  const width = 32 - Math.clz32(top);
  if (v1 === v0) return new Uint8Array([width]);
  const groups = Math.ceil((v1 - v0) / 8);
  const packed = new Uint8Array(groups * width); // the rest of the last group is zero padding
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let v = v0; v < v1; v++) {
    acc |= indices[v]! << bits;
    bits += width;
    while (bits >= 8) {
      packed[o++] = acc & 0xff;
      acc >>>= 8;
      bits -= 8;
    }
  }
  if (bits > 0) packed[o] = acc & 0xff;
  const run = withVarint((groups << 1) | 1, packed);
  const out = new Uint8Array(1 + run.length);
  out[0] = width;
  out.set(run, 1);
  return out;
}

/** Encodes the non-null values of a chunk (there are `n` of them) and finds min/max where kept. */
function encodeValues(src: ChunkSource, n: number): Values {
  const { count, isNull, type } = src;
  const dense = n === count;
  switch (type) {
    case 'DOUBLE': {
      const vals = dense ? src.num.subarray(0, count) : compact(src.num, isNull, count, new Float64Array(n));
      return { encoding: 'PLAIN', width: 8, bytes: new Uint8Array(vals.buffer, vals.byteOffset, n * 8) };
    }
    case 'FLOAT': {
      const vals = compact(src.num, isNull, count, new Float32Array(n));
      return { encoding: 'PLAIN', width: 4, bytes: new Uint8Array(vals.buffer, 0, n * 4) };
    }
    case 'INT32':
    case 'DATE': {
      // DATE: days since the epoch, from epoch milliseconds.
      const vals = compact(type === 'DATE' ? src.num.map((x) => Math.floor(x / 86400000)) : src.num, isNull, count, new Int32Array(n));
      let min = Infinity;
      let max = -Infinity;
      for (let i = 0; i < n; i++) {
        const x = vals[i]!;
        if (x < min) min = x;
        if (x > max) max = x;
      }
      return { encoding: 'PLAIN', width: 4, bytes: new Uint8Array(vals.buffer, 0, n * 4), ...(n ? { min, max } : {}) };
    }
    case 'INT64': {
      const vals = dense ? src.big!.subarray(0, count) : compact(src.big!, isNull, count, new BigInt64Array(n));
      return { encoding: 'PLAIN', width: 8, bytes: new Uint8Array(vals.buffer, vals.byteOffset, n * 8), ...bigMinMax(vals, n) };
    }
    case 'TIMESTAMP_NANOS': {
      // Beyond 2^53: one BigInt per value (the reader keeps times as ms, so microsecond precision).
      const vals = new BigInt64Array(n);
      for (let i = 0, v = 0; i < count; i++) if (!isNull[i]) vals[v++] = BigInt(Math.round(src.num[i]! * 1e3)) * 1000n;
      return { encoding: 'PLAIN', width: 8, bytes: new Uint8Array(vals.buffer, 0, n * 8), ...bigMinMax(vals, n) };
    }
    case 'TIMESTAMP_MILLIS':
    case 'TIMESTAMP_MICROS': {
      // Integral epoch ms (or µs) as int64 halves (low word unsigned), without a BigInt per value.
      const micros = type === 'TIMESTAMP_MICROS';
      const words = new Uint32Array(n * 2);
      const signed = new Int32Array(words.buffer);
      let min = Infinity;
      let max = -Infinity;
      for (let i = 0, v = 0; i < count; i++) {
        if (isNull[i]) continue;
        const x = micros ? Math.round(src.num[i]! * 1e3) : src.num[i]!;
        const hi = Math.floor(x / 4294967296);
        words[2 * v] = x - hi * 4294967296;
        signed[2 * v + 1] = hi;
        v++;
        if (x < min) min = x;
        if (x > max) max = x;
      }
      return { encoding: 'PLAIN', width: 8, bytes: new Uint8Array(words.buffer), ...(n ? { min: BigInt(min), max: BigInt(max) } : {}) };
    }
    case 'BOOLEAN': {
      const bits = new Uint8Array(Math.ceil(n / 8));
      for (let i = 0, v = 0; i < count; i++) {
        if (isNull[i]) continue;
        if (src.arr![i] === true) bits[v >> 3]! |= 1 << (v & 7);
        v++;
      }
      return { encoding: 'PLAIN', width: 0, bytes: bits, bits };
    }
    case 'STRING':
    case 'JSON':
      return encodeStrings(src, n, type === 'JSON');
  }
}

function compact<T extends Float64Array | Float32Array | Int32Array | BigInt64Array>(from: ArrayLike<number | bigint>, isNull: Uint8Array, count: number, to: T): T {
  const dst = to as unknown as { [i: number]: number | bigint };
  for (let i = 0, v = 0; i < count; i++) if (!isNull[i]) dst[v++] = from[i]!;
  return to;
}

/**
 * Strings (JSON: their JSON text) through a dictionary, or PLAIN once the dictionary
 * would grow past MAX_DICT_ENTRIES or MAX_DICT_BYTES. Min/max (strings only) are in
 * UTF-8 byte order, from the dictionary's entries when there is one.
 */
function encodeStrings(src: ChunkSource, n: number, json: boolean): Values {
  const { count, isNull } = src;
  if (n === 0) return { encoding: 'PLAIN', width: 0, bytes: new Uint8Array(0), starts: new Uint32Array(1) };
  const arr = src.arr!;
  const text = (i: number): string => (json ? JSON.stringify(arr[i]) : (arr[i] as string));
  const dict = new Map<string, number>();
  const indices = new Uint32Array(n);
  let dictBytes = 0;
  let fits = true;
  for (let i = 0, v = 0; i < count && fits; i++) {
    if (isNull[i]) continue;
    const s = text(i);
    let k = dict.get(s);
    if (k === undefined) {
      k = dict.size;
      dict.set(s, k);
      dictBytes += 4 + Buffer.byteLength(s);
      fits = dict.size <= MAX_DICT_ENTRIES && dictBytes <= MAX_DICT_BYTES;
    }
    indices[v++] = k;
  }
  if (fits) {
    const body = Buffer.allocUnsafe(dictBytes);
    let o = 0;
    let min: Buffer | undefined;
    let max: Buffer | undefined;
    for (const s of dict.keys()) {
      const len = body.write(s, o + 4);
      body.writeUInt32LE(len, o);
      const bytes = body.subarray(o + 4, o + 4 + len);
      if (!json && (!min || Buffer.compare(bytes, min) < 0)) min = bytes;
      if (!json && (!max || Buffer.compare(bytes, max) > 0)) max = bytes;
      o += 4 + len;
    }
    return { encoding: 'RLE_DICTIONARY', width: 0, bytes: body, indices, dictionary: { body, entries: dict.size }, ...(min && max ? { min: Uint8Array.from(min), max: Uint8Array.from(max) } : {}) };
  }
  // PLAIN: every value's length and bytes, one after another.
  const texts: string[] = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    if (isNull[i]) continue;
    const s = text(i);
    texts.push(s);
    total += 4 + Buffer.byteLength(s);
  }
  const bytes = Buffer.allocUnsafe(total);
  const starts = new Uint32Array(n + 1);
  let o = 0;
  let min: Buffer | undefined;
  let max: Buffer | undefined;
  for (let v = 0; v < n; v++) {
    starts[v] = o;
    const len = bytes.write(texts[v]!, o + 4);
    bytes.writeUInt32LE(len, o);
    const b = bytes.subarray(o + 4, o + 4 + len);
    if (!json && (!min || Buffer.compare(b, min) < 0)) min = b;
    if (!json && (!max || Buffer.compare(b, max) > 0)) max = b;
    o += 4 + len;
  }
  starts[n] = o;
  return { encoding: 'PLAIN', width: 0, bytes, starts, ...(min && max ? { min: Uint8Array.from(min), max: Uint8Array.from(max) } : {}) };
}

/** Min and max of the first `n` values, for a chunk's statistics (nothing when there are none). */
function bigMinMax(vals: BigInt64Array, n: number): { min?: bigint; max?: bigint } {
  if (!n) return {};
  let min = vals[0]!;
  let max = min;
  for (let i = 1; i < n; i++) {
    const x = vals[i]!;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  return { min, max };
}
