import { createRequire } from 'node:module';

/**
 * kafkajs 2.2.4 encodes each produced record (src/protocol/recordBatch/record/v0) with a fresh
 * zero-filled 512-byte Encoder, a new Buffer per varint and 64-bit `Long` arithmetic for the
 * timestamp delta: about 5 µs of CPU and most of the garbage per record, the largest single cost
 * of a Kafka job's main thread (and of a plain kafkajs passthrough). This encoder writes the same
 * bytes (Kafka's record format v2: length, attributes, timestamp delta, offset delta, key, value,
 * headers) into one buffer of the exact size. Anything it does not expect (a key or value that is
 * neither a Buffer nor a string, a delta outside the safe integers) goes to kafkajs's own encoder,
 * so behaviour, errors included, stays kafkajs's. Like the other fixes it must run before kafkajs
 * loads its produce request.
 */
interface RecordArgs {
  offsetDelta?: number;
  timestampDelta?: number;
  key?: unknown;
  value?: unknown;
  headers?: Record<string, unknown>;
}

/** What kafkajs's record batch takes from a record: an Encoder-like `buf` and its written `buffer`. */
class EncodedRecord {
  constructor(readonly buf: Buffer) {}
  get buffer(): Buffer {
    return this.buf;
  }
  size(): number {
    return this.buf.length;
  }
}

/** Zigzag (as Kafka's varint and varlong), for safe integers: the sign moves to the lowest bit. */
const zigzag = (v: number): number => (v >= 0 ? v * 2 : -v * 2 - 1);

function uvarintSize(u: number): number {
  let n = 1;
  while (u >= 128) {
    u = Math.floor(u / 128);
    n++;
  }
  return n;
}

function writeUVarint(buf: Buffer, at: number, u: number): number {
  while (u >= 128) {
    buf[at++] = (u % 128) | 128;
    u = Math.floor(u / 128);
  }
  buf[at++] = u;
  return at;
}

/** A key, value or header value: bytes as they are, strings as UTF-8; null: no bytes (-1). */
type Bytes = Buffer | string | null;
const bytesOk = (v: unknown): v is Bytes | undefined => v === null || v === undefined || typeof v === 'string' || Buffer.isBuffer(v);
const byteLen = (v: Bytes): number => (v === null ? -1 : typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : v.length);

function writeBytes(buf: Buffer, at: number, v: Bytes, len: number): number {
  at = writeUVarint(buf, at, zigzag(len));
  if (v === null) return at;
  if (typeof v === 'string') buf.write(v, at, len, 'utf8');
  else v.copy(buf, at);
  return at + len;
}

/** kafkajs sizes header values with Buffer.byteLength, which throws on null: only bytes and strings are encoded here. */
const headerValueOk = (v: unknown): v is Buffer | string => typeof v === 'string' || Buffer.isBuffer(v);

const NO_HEADERS: [string, Bytes][] = [];

/** Header pairs in kafkajs's order (an array value becomes one header per element), or undefined when one is not bytes. */
function headerPairs(headers: Record<string, unknown> | undefined): [string, Bytes][] | undefined {
  if (!headers) return NO_HEADERS;
  let pairs: [string, Bytes][] | undefined;
  for (const k in headers) {
    if (!Object.prototype.hasOwnProperty.call(headers, k)) continue;
    const v = headers[k];
    pairs ??= [];
    if (Array.isArray(v)) {
      for (const x of v) {
        if (!headerValueOk(x)) return undefined;
        pairs.push([k, x]);
      }
    } else {
      if (!headerValueOk(v)) return undefined;
      pairs.push([k, v]);
    }
  }
  return pairs ?? NO_HEADERS;
}

/** Encodes one record as kafkajs's Record v0 does, or returns undefined to leave it to kafkajs. */
export function encodeRecord(args: RecordArgs): EncodedRecord | undefined {
  const offsetDelta = args.offsetDelta ?? 0;
  const timestampDelta = args.timestampDelta ?? 0;
  const { key, value } = args;
  if (!Number.isSafeInteger(timestampDelta) || Math.abs(timestampDelta) > 2 ** 51) return undefined;
  if (!Number.isInteger(offsetDelta) || offsetDelta < 0 || offsetDelta > 0x3fffffff) return undefined;
  if (!bytesOk(key) || !bytesOk(value)) return undefined;
  const headers = headerPairs(args.headers);
  if (!headers) return undefined;
  const k: Bytes = key ?? null;
  const v: Bytes = value ?? null;
  const keyLen = byteLen(k);
  const valueLen = byteLen(v);
  const tsZ = zigzag(timestampDelta);
  const offZ = zigzag(offsetDelta);
  let body = 1 + uvarintSize(tsZ) + uvarintSize(offZ) + uvarintSize(zigzag(keyLen)) + Math.max(0, keyLen) + uvarintSize(zigzag(valueLen)) + Math.max(0, valueLen);
  const hLens: number[] = [];
  body += uvarintSize(zigzag(headers.length));
  for (const [hk, hv] of headers) {
    const kl = Buffer.byteLength(hk, 'utf8');
    const vl = byteLen(hv);
    hLens.push(kl, vl);
    body += uvarintSize(zigzag(kl)) + kl + uvarintSize(zigzag(vl)) + Math.max(0, vl);
  }
  const buf = Buffer.allocUnsafe(uvarintSize(zigzag(body)) + body);
  let at = writeUVarint(buf, 0, zigzag(body));
  buf[at++] = 0; // attributes: none are used per record
  at = writeUVarint(buf, at, tsZ);
  at = writeUVarint(buf, at, offZ);
  at = writeBytes(buf, at, k, keyLen);
  at = writeBytes(buf, at, v, valueLen);
  at = writeUVarint(buf, at, zigzag(headers.length));
  for (let i = 0; i < headers.length; i++) {
    const [hk, hv] = headers[i]!;
    at = writeBytes(buf, at, hk, hLens[2 * i]!);
    at = writeBytes(buf, at, hv, hLens[2 * i + 1]!);
  }
  if (at !== buf.length) throw new Error(`record encoding: wrote ${at} of ${buf.length} bytes`);
  return new EncodedRecord(buf);
}

const require = createRequire(import.meta.url);
const recordPath = require.resolve('kafkajs/src/protocol/recordBatch/record/v0');
const producePath = require.resolve('kafkajs/src/protocol/requests/produce/v3/request');

/** kafkajs's own record encoder (the fallback, and what tests compare with). */
export const kafkajsRecord = require(recordPath) as (args: RecordArgs) => { buffer: Buffer };

/** True when kafkajs's produce request uses this encoder. */
export let recordEncodingFixed = false;

if (!require.cache[producePath]) {
  const cached = require.cache[recordPath];
  if (cached) {
    cached.exports = (args: RecordArgs) => encodeRecord(args) ?? kafkajsRecord(args);
    recordEncodingFixed = true;
  }
}
