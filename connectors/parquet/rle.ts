/**
 * The RLE / bit-packed hybrid encoding (definition levels, dictionary indices) decoded
 * straight into typed arrays. hyparquet decodes it into plain Arrays of boxed numbers,
 * which was a third of the read time on flights-3m; this is the hot loop of a scan.
 */

/**
 * Decodes `count` values of `width` bits from bytes[pos, end) into out[0, count).
 * Returns false (out untouched in part) when width is too wide for this decoder (> 24
 * bits, a dictionary of over 16 M entries); the caller then uses hyparquet's.
 */
export function decodeHybrid(bytes: Uint8Array, pos: number, end: number, width: number, out: Uint8Array | Int32Array, count: number): boolean {
  if (width > 24) return false;
  if (width === 0) {
    out.fill(0, 0, count);
    return true;
  }
  const mask = (1 << width) - 1;
  const valueBytes = (width + 7) >> 3;
  let seen = 0;
  while (seen < count) {
    if (pos >= end) throw new Error(`RLE/bit-packed data ended after ${seen} of ${count} values`);
    // ULEB128 run header: low bit 1 = bit-packed groups of 8, 0 = one repeated value.
    let header = 0;
    let shift = 0;
    let b: number;
    do {
      b = bytes[pos++]!;
      header += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    if (header % 2 === 1) {
      const groups = Math.floor(header / 2);
      const runEnd = pos + groups * width;
      const n = Math.min(groups * 8, count - seen);
      let buf = 0;
      let bits = 0;
      let p = pos;
      for (let i = 0; i < n; i++) {
        while (bits < width) {
          buf |= (bytes[p++] ?? 0) << bits;
          bits += 8;
        }
        out[seen++] = buf & mask;
        buf >>>= width;
        bits -= width;
      }
      pos = runEnd;
    } else {
      const n = Math.min(Math.floor(header / 2), count - seen);
      let value = 0;
      for (let i = 0; i < valueBytes; i++) value |= bytes[pos++]! << (8 * i);
      out.fill(value, seen, seen + n);
      seen += n;
    }
  }
  return true;
}
