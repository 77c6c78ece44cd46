import { createRequire } from 'node:module';

/**
 * kafkajs 2.2.4 decodes each fetched record (src/protocol/recordBatch/record/v0/decoder.js) with
 * 64-bit `Long` objects for its timestamp and offset (several allocations and a decimal
 * conversion each) and rebuilds the header object once per header: about 3 µs of a Kafka job's
 * main thread per record, the same in a plain kafkajs consumer. This decoder reads the same
 * fields in plain number arithmetic and returns the same object (offset and timestamp as decimal
 * strings, key and value as Buffer slices, headers by name with repeated names as arrays).
 * Records whose numbers leave the safe-integer range, or that do not parse, go to kafkajs's own
 * decoder, so results and errors stay kafkajs's. Installed before kafkajs loads its batch decoder.
 */
interface Reader {
  buffer: Buffer;
  offset: number;
}

interface BatchContext {
  firstOffset?: string;
  firstTimestamp?: string;
  magicByte?: number;
  isControlBatch?: boolean;
  timestampType?: number;
  maxTimestamp?: string;
}

type HeaderValue = Buffer | null;

export interface DecodedRecord {
  magicByte: number | undefined;
  attributes: number;
  timestamp: string | undefined;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, HeaderValue | HeaderValue[]>;
  isControlRecord: boolean;
  batchContext: BatchContext;
}

/** kafkajs's TimestampTypes.LOG_APPEND_TIME. */
const LOG_APPEND_TIME = 1;

/** Thrown inside the fast path only; the record then goes to kafkajs's decoder. */
const FALLBACK = new Error('record-decoding-fix: fall back');

/** The batch whose base offset and timestamp were parsed last (every record of a batch shares one context object). */
let lastContext: BatchContext | undefined;
let baseOffset = 0;
let baseTimestamp = 0;

/** Reads a zigzag varint of at most 7 bytes (49 bits, exact in a double) and returns it decoded. */
function readZigzag(r: { buf: Buffer; at: number }): number {
  const buf = r.buf;
  let u = 0;
  let scale = 1;
  for (let i = 0; i < 7; i++) {
    if (r.at >= buf.length) throw FALLBACK;
    const b = buf[r.at++]!;
    u += (b & 0x7f) * scale;
    if (b < 0x80) return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
    scale *= 128;
  }
  throw FALLBACK;
}

function readBytes(r: { buf: Buffer; at: number }): Buffer | null {
  const len = readZigzag(r);
  if (len < 0) return null;
  if (r.at + len > r.buf.length) throw FALLBACK;
  const out = r.buf.slice(r.at, r.at + len);
  r.at += len;
  return out;
}

function fastDecode(decoder: Reader, ctx: BatchContext): DecodedRecord {
  if (ctx !== lastContext) {
    const o = Number(ctx.firstOffset);
    const t = Number(ctx.firstTimestamp);
    if (!Number.isSafeInteger(o) || !Number.isSafeInteger(t)) throw FALLBACK;
    lastContext = ctx;
    baseOffset = o;
    baseTimestamp = t;
  }
  const r = { buf: decoder.buffer, at: decoder.offset };
  if (r.at >= r.buf.length) throw FALLBACK;
  const attributes = (r.buf[r.at++]! << 24) >> 24;
  const timestampDelta = readZigzag(r);
  const timestamp = ctx.timestampType === LOG_APPEND_TIME && ctx.maxTimestamp ? ctx.maxTimestamp : String(baseTimestamp + timestampDelta);
  const offsetDelta = readZigzag(r);
  const offset = String(baseOffset + offsetDelta);
  const key = readBytes(r);
  const value = readBytes(r);
  const count = readZigzag(r);
  const headers: Record<string, HeaderValue | HeaderValue[]> = {};
  for (let i = 0; i < count; i++) {
    const k = readBytes(r);
    const name = k === null ? 'null' : k.toString('utf8');
    const v = readBytes(r);
    const had = headers[name];
    headers[name] = had === undefined ? v : Array.isArray(had) ? had.concat([v]) : [had, v];
  }
  decoder.offset = r.at;
  return { magicByte: ctx.magicByte, attributes, timestamp, offset, key, value, headers, isControlRecord: ctx.isControlBatch ?? false, batchContext: ctx };
}

const require = createRequire(import.meta.url);
const recordDecoderPath = require.resolve('kafkajs/src/protocol/recordBatch/record/v0/decoder');
const batchDecoderPath = require.resolve('kafkajs/src/protocol/recordBatch/v0/decoder');

/** kafkajs's own record decoder (the fallback, and what tests compare with). */
export const kafkajsRecordDecoder = require(recordDecoderPath) as (decoder: Reader, batchContext?: BatchContext) => DecodedRecord;

/** Decodes one record as kafkajs's record decoder does. */
export function decodeRecord(decoder: Reader, batchContext: BatchContext = {}): DecodedRecord {
  const start = decoder.offset;
  try {
    return fastDecode(decoder, batchContext);
  } catch (err) {
    if (err !== FALLBACK) throw err;
    decoder.offset = start;
    return kafkajsRecordDecoder(decoder, batchContext);
  }
}

/** True when kafkajs's fetch decoding uses this decoder. */
export let recordDecodingFixed = false;

if (!require.cache[batchDecoderPath]) {
  const cached = require.cache[recordDecoderPath];
  if (cached) {
    cached.exports = decodeRecord;
    recordDecodingFixed = true;
  }
}
