/**
 * Binary format of one record batch (one LevelDB value). Little-endian, fixed-width
 * lengths: decoding is a walk with no varint loops, and a reader can skip records
 * before its start offset without decoding their strings.
 *
 *   header   u8 magic (=1) | u32 count | f64 max timestamp of the batch
 *   record   f64 timestamp
 *            i32 key length: n >= 0 a utf8 key of n bytes, -1 a null key, -2 - n a binary key of n bytes | key
 *            u32 value length: bit 31 set = binary value (a Buffer), bits 0..30 the byte length | value
 *            u16 header count | per header: u32 len | name utf8 | u32 len | value utf8
 *
 * The base offset is not in the value: it is in the key (keys.ts), so a batch is
 * encoded before offsets are assigned, and a bad record fails a commit before any
 * offset is taken. Empty `headers` are not stored; such records read back without
 * a `headers` property.
 *
 * Keys and values are text (JSON topics) or bytes (Avro on the Confluent wire format);
 * each reads back as it was written: a string, or a Buffer that is a view of the batch.
 * Text stays the fast path: no flag test costs more than one bit operation.
 */
import { SluiceError } from '../../src/core/errors.js';
import type { LogRecord, StoredLogRecord } from '../../src/core/record.js';

const MAGIC = 1;
/** Bit 31 of a value length: the value is bytes, not text. */
const BINARY = 0x80000000;
const BYTES_MAX = 0x7fffffff;
export const BATCH_HEADER_BYTES = 13;

// One scratch buffer per process: encoding is synchronous, so it is never shared
// by two encodes at once. The result is copied out at its exact size.
let scratch = Buffer.allocUnsafe(1 << 20);
const SCRATCH_KEEP_BYTES = 16 << 20;

function ensure(pos: number, need: number): void {
  if (pos + need <= scratch.length) return;
  const next = Buffer.allocUnsafe(Math.max(scratch.length * 2, pos + need));
  scratch.copy(next, 0, 0, pos);
  scratch = next;
}

function bad(where: string, index: number, what: string): SluiceError {
  return new SluiceError('INVALID_INPUT', `${where}: record ${index} ${what}`);
}

/** Encodes records as one batch; `where` names the topic/partition in errors. */
export function encodeBatch(records: readonly LogRecord[], where: string): Buffer {
  let pos = BATCH_HEADER_BYTES;
  let maxTs = -Infinity;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const { key, value, timestamp, headers } = r;
    const binValue = typeof value !== 'string';
    if (binValue && !(value instanceof Uint8Array)) throw bad(where, i, `has a value of type ${typeof value}; expected a string or a Buffer`);
    if (key !== null && typeof key !== 'string' && !(key instanceof Uint8Array)) throw bad(where, i, `has a key of type ${typeof key}; expected a string, a Buffer or null`);
    if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) throw bad(where, i, `has timestamp ${String(timestamp)}; expected a finite number (epoch ms)`);
    if (timestamp > maxTs) maxTs = timestamp;
    // 3 bytes per UTF-16 unit bounds the UTF-8 size, so one check covers the writes.
    ensure(pos, 18 + 3 * (value.length + (key === null ? 0 : key.length)));
    scratch.writeDoubleLE(timestamp, pos);
    if (key === null) {
      scratch.writeInt32LE(-1, pos + 8);
      pos += 12;
    } else if (typeof key === 'string') {
      const n = scratch.write(key, pos + 12);
      scratch.writeInt32LE(n, pos + 8);
      pos += 12 + n;
    } else {
      scratch.set(key, pos + 12);
      scratch.writeInt32LE(-2 - key.length, pos + 8);
      pos += 12 + key.length;
    }
    if (binValue) {
      if (value.length > BYTES_MAX) throw bad(where, i, `has a value of ${value.length} bytes; at most ${BYTES_MAX}`);
      scratch.set(value, pos + 4);
      scratch.writeUInt32LE((value.length | BINARY) >>> 0, pos);
      pos += 4 + value.length;
    } else {
      const n = scratch.write(value, pos + 4);
      scratch.writeUInt32LE(n, pos);
      pos += 4 + n;
    }
    pos = writeHeaders(headers, pos, where, i);
  }
  scratch[0] = MAGIC;
  scratch.writeUInt32LE(records.length, 1);
  scratch.writeDoubleLE(records.length === 0 ? 0 : maxTs, 5);
  const out = Buffer.allocUnsafe(pos);
  scratch.copy(out, 0, 0, pos);
  if (scratch.length > SCRATCH_KEEP_BYTES) scratch = Buffer.allocUnsafe(1 << 20); // one huge batch should not pin its size
  return out;
}

function writeHeaders(headers: Record<string, string> | undefined, pos: number, where: string, i: number): number {
  if (headers === undefined) {
    ensure(pos, 2);
    scratch.writeUInt16LE(0, pos);
    return pos + 2;
  }
  if (headers === null || typeof headers !== 'object') throw bad(where, i, 'has headers that are not an object');
  const names = Object.keys(headers);
  if (names.length > 0xffff) throw bad(where, i, `has ${names.length} headers; at most 65535`);
  ensure(pos, 2);
  scratch.writeUInt16LE(names.length, pos);
  pos += 2;
  for (const name of names) {
    const v = headers[name];
    if (typeof v !== 'string') throw bad(where, i, `has header "${name}" of type ${typeof v}; expected a string`);
    ensure(pos, 8 + 3 * (name.length + v.length));
    const nn = scratch.write(name, pos + 4);
    scratch.writeUInt32LE(nn, pos);
    pos += 4 + nn;
    const nv = scratch.write(v, pos + 4);
    scratch.writeUInt32LE(nv, pos);
    pos += 4 + nv;
  }
  return pos;
}

function checkMagic(buf: Buffer): void {
  if (buf.length < BATCH_HEADER_BYTES || buf[0] !== MAGIC) {
    throw new SluiceError('STORAGE_ERROR', `embedded log: a record batch has an unknown format (magic ${String(buf[0])}); the data directory is damaged or from a newer version`);
  }
}

export function batchCount(buf: Buffer): number {
  checkMagic(buf);
  return buf.readUInt32LE(1);
}

export function batchMaxTimestamp(buf: Buffer): number {
  return buf.readDoubleLE(5);
}

/** Byte position just past the record that starts at `pos`. */
function skipRecord(buf: Buffer, pos: number): number {
  const keyLen = buf.readInt32LE(pos + 8);
  pos += 12 + (keyLen >= 0 ? keyLen : -2 - keyLen > 0 ? -2 - keyLen : 0);
  pos += 4 + (buf.readUInt32LE(pos) & BYTES_MAX);
  let h = buf.readUInt16LE(pos);
  pos += 2;
  while (h-- > 0) {
    pos += 4 + buf.readUInt32LE(pos);
    pos += 4 + buf.readUInt32LE(pos);
  }
  return pos;
}

/**
 * A position inside one decoded batch. Readers keep the last one per partition, so
 * a consumer whose read stopped mid-batch resumes there without fetching the batch
 * from LevelDB again or skipping the records before it once more.
 */
export interface BatchCursor {
  readonly buf: Buffer;
  readonly base: number;
  readonly count: number;
  /** Offset of the record that starts at byte `pos`. */
  offset: number;
  pos: number;
}

export function batchCursor(buf: Buffer, base: number): BatchCursor {
  return { buf, base, count: batchCount(buf), offset: base, pos: BATCH_HEADER_BYTES };
}

/**
 * Appends to `out` the cursor's records with offsets >= `from` until `out` holds
 * `limit` records, and leaves the cursor after the last one taken.
 */
export function decodeFrom(c: BatchCursor, from: number, limit: number, out: StoredLogRecord[]): void {
  const { buf, base, count } = c;
  if (from < c.offset) {
    c.offset = base;
    c.pos = BATCH_HEADER_BYTES;
  }
  let i = c.offset - base;
  let pos = c.pos;
  for (; i < count && base + i < from; i++) pos = skipRecord(buf, pos);
  for (; i < count && out.length < limit; i++) {
    const timestamp = buf.readDoubleLE(pos);
    const keyLen = buf.readInt32LE(pos + 8);
    pos += 12;
    let key: string | Buffer | null = null;
    if (keyLen >= 0) {
      key = buf.toString('utf8', pos, pos + keyLen);
      pos += keyLen;
    } else if (keyLen < -1) {
      key = buf.subarray(pos, pos - 2 - keyLen);
      pos += -2 - keyLen;
    }
    const lenWord = buf.readUInt32LE(pos);
    pos += 4;
    let value: string | Buffer;
    if (lenWord < BINARY) {
      value = buf.toString('utf8', pos, pos + lenWord);
      pos += lenWord;
    } else {
      const n = lenWord & BYTES_MAX;
      value = buf.subarray(pos, pos + n);
      pos += n;
    }
    let h = buf.readUInt16LE(pos);
    pos += 2;
    if (h === 0) {
      out.push({ key, value, timestamp, offset: base + i });
      continue;
    }
    const headers: Record<string, string> = {};
    while (h-- > 0) {
      const nl = buf.readUInt32LE(pos);
      const name = buf.toString('utf8', pos + 4, pos + 4 + nl);
      pos += 4 + nl;
      const vl = buf.readUInt32LE(pos);
      headers[name] = buf.toString('utf8', pos + 4, pos + 4 + vl);
      pos += 4 + vl;
    }
    out.push({ key, value, timestamp, headers, offset: base + i });
  }
  c.offset = base + i;
  c.pos = pos;
}

/** Offset of the first record in the batch with timestamp >= ts, or -1. */
export function firstAtOrAfter(buf: Buffer, base: number, ts: number): number {
  const count = batchCount(buf);
  if (!(batchMaxTimestamp(buf) >= ts)) return -1; // the header lets whole batches be skipped
  let pos = BATCH_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (buf.readDoubleLE(pos) >= ts) return base + i;
    pos = skipRecord(buf, pos);
  }
  return -1;
}
