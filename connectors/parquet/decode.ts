/**
 * Page-by-page decoding of one flat (not nested) column chunk straight into batch
 * vectors. hyparquet parses the page headers and the encodings; we skip its row
 * assembly (which pushes every value through a generic Dremel loop into a plain Array,
 * most of its decode time) and scatter values into a Float64Array plus a null mask,
 * looking dictionary-encoded pages up in a dictionary converted once per chunk.
 *
 * Only one decoded page is alive at a time besides the output, so memory follows the
 * batch size, not the row-group size. Whole pages before a skip target are passed
 * over without being decompressed.
 */
import { endianness } from 'node:os';
import type { DecodedArray, PageHeader, ParquetParsers, SchemaElement } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { convert, DEFAULT_PARSERS } from 'hyparquet/src/convert.js';
import { decompressPage, readDataPage, readDataPageV2 } from 'hyparquet/src/datapage.js';
import { readPlain } from 'hyparquet/src/plain.js';
import type { ColumnSchema } from './file.js';
import { decodeHybrid } from './rle.js';

type ColumnDecoder = Parameters<typeof readDataPage>[2];
type Compressors = NonNullable<ColumnDecoder['compressors']>;
type Codec = ColumnDecoder['codec'];

/** Column values for a run of rows. `nulls` is set only when the run has a null (1 = null). */
export interface Vector {
  values: Float64Array | unknown[];
  nulls: Uint8Array | undefined;
}

/** Timestamps and dates become epoch milliseconds (fractional for micro/nanoseconds). */
export const NUMBER_PARSERS: ParquetParsers = {
  ...DEFAULT_PARSERS,
  timestampFromMilliseconds: (v: bigint) => Number(v),
  timestampFromMicroseconds: (v: bigint) => Number(v) / 1e3,
  timestampFromNanoseconds: (v: bigint) => Number(v) / 1e6,
  dateFromDays: (d: number) => d * 86400000,
};

const LITTLE_ENDIAN = endianness() === 'LE';
const FAST_ENCODINGS = new Set(['PLAIN', 'PLAIN_DICTIONARY', 'RLE_DICTIONARY']);

/** int64 → number without creating a BigInt per value: high word × 2³² + low word (exact below 2⁵³). */
function int64ToNumbers(a: BigInt64Array): Float64Array {
  const n = a.length;
  const out = new Float64Array(n);
  if (LITTLE_ENDIAN) {
    const lo = new Uint32Array(a.buffer, a.byteOffset, n * 2);
    const hi = new Int32Array(a.buffer, a.byteOffset, n * 2);
    for (let i = 0; i < n; i++) out[i] = hi[2 * i + 1]! * 4294967296 + lo[2 * i]!;
  } else {
    for (let i = 0; i < n; i++) out[i] = Number(a[i]);
  }
  return out;
}

/**
 * How the raw values of a numeric column become numbers. `direct`: the physical values
 * are the numbers (times a unit factor), so hyparquet's per-value conversion is skipped;
 * otherwise (DECIMAL, unsigned, INT96, FLOAT16, ...) hyparquet converts first.
 */
interface NumericPlan {
  direct: boolean;
  scale: number;
}

function numericPlan(el: SchemaElement): NumericPlan {
  const ct = el.converted_type;
  const lt = el.logical_type as ({ type: string; unit?: string; isSigned?: boolean } | undefined);
  const signedInt = !lt || (lt.type === 'INTEGER' && lt.isSigned !== false);
  if (el.type === 'DOUBLE' || el.type === 'FLOAT') return { direct: !lt, scale: 1 };
  if (el.type === 'INT64') {
    if (lt?.type === 'TIMESTAMP' && (!ct || ct.startsWith('TIMESTAMP'))) {
      return { direct: true, scale: lt.unit === 'NANOS' ? 1e-6 : lt.unit === 'MICROS' ? 1e-3 : 1 };
    }
    if (ct === 'TIMESTAMP_MICROS' && !lt) return { direct: true, scale: 1e-3 };
    if (ct === 'TIMESTAMP_MILLIS' && !lt) return { direct: true, scale: 1 };
    return { direct: (!ct || ct === 'INT_64') && signedInt, scale: 1 };
  }
  if (el.type === 'INT32') {
    if (ct === 'DATE' || lt?.type === 'DATE') return { direct: (!ct || ct === 'DATE') && (!lt || lt.type === 'DATE'), scale: 86400000 };
    return { direct: (!ct || ct === 'INT_8' || ct === 'INT_16' || ct === 'INT_32') && signedInt, scale: 1 };
  }
  return { direct: false, scale: 1 };
}

function toNumbers(raw: DecodedArray, plan: NumericPlan, decoder: ColumnDecoder): Float64Array {
  const data = plan.direct ? raw : convert(raw, decoder);
  let out: Float64Array;
  if (data instanceof Float64Array) out = data;
  else if (data instanceof BigInt64Array) out = int64ToNumbers(data);
  else if (ArrayBuffer.isView(data) && !(data instanceof BigUint64Array)) out = Float64Array.from(data as ArrayLike<number>);
  else {
    out = new Float64Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const v: unknown = data[i];
      out[i] = typeof v === 'bigint' ? Number(v) : v === null || v === undefined ? NaN : (v as number);
    }
  }
  if (plan.direct && plan.scale !== 1) {
    if (out === raw) out = out.slice(); // hyparquet's array may be a view of the page: scale a copy
    for (let i = 0; i < out.length; i++) out[i] = out[i]! * plan.scale;
  }
  return out;
}

/**
 * Reads one flat column chunk (its bytes already in memory) as consecutive runs of rows:
 * skip(n) and take(n) in any order, until the chunk's rows are used up.
 */
export class ColumnCursor {
  private readonly view: DataView;
  private offset = 0;
  private readonly decoder: ColumnDecoder;
  private readonly numeric: NumericPlan | undefined;
  private readonly maxDef: number;
  private dict: Float64Array | unknown[] | undefined;
  // The current data page: definition levels (undefined: no nulls), then either
  // dictionary indices or the page's own (converted) values.
  private defs: ArrayLike<number> | undefined;
  private idx: ArrayLike<number> | undefined;
  private vals: Float64Array | unknown[] | undefined;
  private pageRows = 0;
  private pos = 0; // next row in the page
  private vpos = 0; // next non-null value in the page

  constructor(bytes: Uint8Array, col: ColumnSchema, root: ColumnSchema['node'], codec: Codec, compressors: Compressors) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const el = col.node.element;
    if (!el.type) throw new Error(`column ${col.name} has no physical type`);
    this.decoder = {
      pathInSchema: [col.name],
      type: el.type,
      element: el,
      schemaPath: [root, col.node],
      codec,
      parsers: NUMBER_PARSERS,
      compressors,
      utf8: true,
    };
    this.numeric = col.type === 'number' || col.type === 'timestamp' || col.type === 'date' ? numericPlan(el) : undefined;
    this.maxDef = el.repetition_type === 'REQUIRED' ? 0 : 1;
  }

  private convert(raw: DecodedArray): Float64Array | unknown[] {
    if (this.numeric) return toNumbers(raw, this.numeric, this.decoder);
    const out = convert(raw, this.decoder);
    return Array.isArray(out) ? out : Array.from(out as ArrayLike<unknown>);
  }

  /**
   * Moves to the next data page. Whole data pages with at most `skippable` rows are
   * passed over undecoded; returns how many rows that skipped. When it returns
   * `skippable` (> 0), no page may have been loaded.
   */
  private nextPage(skippable: number): number {
    let skipped = 0;
    const end = this.view.byteLength - 1;
    for (;;) {
      if (this.offset >= end) throw new Error(`column ${this.decoder.pathInSchema[0]}: chunk ended before its last row`);
      const reader = { view: this.view, offset: this.offset };
      const header: PageHeader = parquetHeader(reader);
      const start = reader.offset;
      this.offset = start + header.compressed_page_size;
      const bytes = new Uint8Array(this.view.buffer, this.view.byteOffset + start, header.compressed_page_size);
      if (header.type === 'DICTIONARY_PAGE') {
        const diph = header.dictionary_page_header;
        if (!diph) throw new Error('dictionary page without header');
        const page = decompressPage(bytes, header.uncompressed_page_size, this.decoder.codec, this.decoder.compressors);
        const raw = readPlain({ view: new DataView(page.buffer, page.byteOffset, page.byteLength), offset: 0 }, this.decoder.type, diph.num_values, this.decoder.element.type_length);
        this.dict = this.convert(raw);
        continue;
      }
      let rows: number;
      if (header.type === 'DATA_PAGE') rows = header.data_page_header?.num_values ?? 0;
      else if (header.type === 'DATA_PAGE_V2') rows = header.data_page_header_v2?.num_rows ?? 0;
      else continue; // index pages
      if (rows <= skippable - skipped) {
        skipped += rows;
        if (skipped === skippable && skippable > 0) return skipped;
        continue;
      }
      this.load(bytes, header, rows);
      return skipped;
    }
  }

  /** Definition levels of a flat column (max level 1); undefined when none is null. */
  private levels(bytes: Uint8Array, pos: number, end: number, count: number): { defs: Uint8Array | undefined; present: number } {
    const defs = new Uint8Array(count);
    if (!decodeHybrid(bytes, pos, end, 1, defs, count)) throw new Error('bad definition levels');
    let present = 0;
    for (let i = 0; i < count; i++) present += defs[i]!;
    return { defs: present === count ? undefined : defs, present };
  }

  /** PLAIN values via hyparquet's readPlain; dictionary indices into an Int32Array. */
  private values(page: Uint8Array, pos: number, encoding: string, n: number): DecodedArray | undefined {
    if (encoding === 'PLAIN') {
      return readPlain({ view: new DataView(page.buffer, page.byteOffset, page.byteLength), offset: pos }, this.decoder.type, n, this.decoder.element.type_length);
    }
    const idx = new Int32Array(n);
    if (n > 0 && !decodeHybrid(page, pos + 1, page.length, page[pos]!, idx, n)) return undefined;
    return idx;
  }

  /**
   * Decodes a data page of the common shapes (PLAIN or dictionary values) here; any
   * other encoding goes through hyparquet's readDataPage / readDataPageV2.
   */
  private decodePage(bytes: Uint8Array, header: PageHeader): { defs: ArrayLike<number> | undefined; data: DecodedArray; encoding: string } {
    const { codec, compressors } = this.decoder;
    const boolean = this.decoder.type === 'BOOLEAN';
    if (header.type === 'DATA_PAGE') {
      const daph = header.data_page_header!;
      const encoding = daph.encoding;
      const page = decompressPage(bytes, header.uncompressed_page_size, codec, compressors);
      if (FAST_ENCODINGS.has(encoding) && !(boolean && encoding !== 'PLAIN')) {
        let pos = 0;
        let defs: Uint8Array | undefined;
        let present = daph.num_values;
        if (this.maxDef > 0) {
          const len = (page[0]! | (page[1]! << 8) | (page[2]! << 16) | (page[3]! << 24)) >>> 0;
          ({ defs, present } = this.levels(page, 4, 4 + len, daph.num_values));
          pos = 4 + len;
        }
        const data = this.values(page, pos, encoding, present);
        if (data) return { defs, data, encoding };
      }
      const { definitionLevels, dataPage } = readDataPage(page, daph, this.decoder);
      return { defs: definitionLevels && definitionLevels.length > 0 ? definitionLevels : undefined, data: dataPage, encoding };
    }
    const d2 = header.data_page_header_v2!;
    const encoding = d2.encoding;
    if (FAST_ENCODINGS.has(encoding) && !(boolean && encoding !== 'PLAIN')) {
      const repLen = d2.repetition_levels_byte_length;
      const defLen = d2.definition_levels_byte_length;
      let defs: Uint8Array | undefined;
      if (this.maxDef > 0 && d2.num_nulls > 0) defs = this.levels(bytes, repLen, repLen + defLen, d2.num_values).defs;
      let page = bytes.subarray(repLen + defLen);
      const size = header.uncompressed_page_size - repLen - defLen;
      if (d2.is_compressed !== false && size > 0) page = decompressPage(page, size, codec, compressors);
      const data = this.values(page, 0, encoding, d2.num_values - d2.num_nulls);
      if (data) return { defs, data, encoding };
    }
    const { definitionLevels, dataPage } = readDataPageV2(bytes, header, this.decoder);
    return { defs: d2.num_nulls > 0 ? definitionLevels : undefined, data: dataPage, encoding };
  }

  private load(bytes: Uint8Array, header: PageHeader, rows: number): void {
    const { defs, data, encoding } = this.decodePage(bytes, header);
    this.defs = defs;
    if (encoding.endsWith('_DICTIONARY')) {
      if (!this.dict) throw new Error(`column ${this.decoder.pathInSchema[0]}: dictionary-encoded page without a dictionary`);
      this.idx = data as ArrayLike<number>;
      this.vals = undefined;
    } else {
      this.idx = undefined;
      this.vals = this.convert(data);
    }
    this.pageRows = rows;
    this.pos = 0;
    this.vpos = 0;
  }

  skip(n: number): void {
    while (n > 0) {
      if (this.pos >= this.pageRows) {
        n -= this.nextPage(n);
        if (n === 0) return;
        if (this.pos >= this.pageRows) continue;
      }
      const k = Math.min(n, this.pageRows - this.pos);
      const defs = this.defs;
      if (defs) {
        for (let i = this.pos, e = this.pos + k; i < e; i++) if (defs[i] === this.maxDef) this.vpos++;
      } else {
        this.vpos += k;
      }
      this.pos += k;
      n -= k;
    }
  }

  take(n: number): Vector {
    const values: Float64Array | unknown[] = this.numeric ? new Float64Array(n) : new Array<unknown>(n);
    let nulls: Uint8Array | undefined;
    let o = 0;
    while (o < n) {
      if (this.pos >= this.pageRows) {
        this.nextPage(0);
        continue;
      }
      const k = Math.min(n - o, this.pageRows - this.pos);
      if (this.defs) nulls ??= new Uint8Array(n);
      // Separate loops per output kind keep each one monomorphic for the JIT.
      this.vpos = values instanceof Float64Array
        ? this.scatterNumbers(values, nulls, o, k)
        : this.scatterValues(values, nulls, o, k);
      this.pos += k;
      o += k;
    }
    // A page with nulls may still have none in the rows taken.
    if (nulls && nulls.indexOf(1) === -1) nulls = undefined;
    return { values, nulls };
  }

  private scatterNumbers(out: Float64Array, nulls: Uint8Array | undefined, o: number, k: number): number {
    const { defs, idx } = this;
    let vp = this.vpos;
    if (idx) {
      const dict = this.dict as Float64Array;
      if (!defs) {
        for (let i = 0; i < k; i++) out[o + i] = dict[idx[vp + i]!]!;
        return vp + k;
      }
      for (let i = 0, p = this.pos; i < k; i++, p++) {
        if (defs[p] === 1) out[o + i] = dict[idx[vp++]!]!;
        else {
          out[o + i] = NaN;
          nulls![o + i] = 1;
        }
      }
      return vp;
    }
    const src = this.vals as Float64Array;
    if (!defs) {
      out.set(src.subarray(vp, vp + k), o);
      return vp + k;
    }
    for (let i = 0, p = this.pos; i < k; i++, p++) {
      if (defs[p] === 1) out[o + i] = src[vp++]!;
      else {
        out[o + i] = NaN;
        nulls![o + i] = 1;
      }
    }
    return vp;
  }

  private scatterValues(out: unknown[], nulls: Uint8Array | undefined, o: number, k: number): number {
    const { defs, idx } = this;
    const src = (idx ? this.dict : this.vals) as unknown[];
    let vp = this.vpos;
    for (let i = 0, p = this.pos; i < k; i++, p++) {
      if (!defs || defs[p] === 1) out[o + i] = idx ? src[idx[vp++]!] : src[vp++];
      else {
        out[o + i] = null;
        nulls![o + i] = 1;
      }
    }
    return vp;
  }
}
