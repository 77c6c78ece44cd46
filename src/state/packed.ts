/**
 * A compact positional text form for numeric keyed state (aggregate accumulators, pending
 * windows): every character is below 0x80, so the text is its own UTF-8 encoding and the
 * store hands it back as the same one-byte string (no Buffer per value, no JSON parse).
 * Compared with JSON it carries no field names and no decimal digits: a double is 11
 * characters copied bit for bit (JSON needs up to 24 and a shortest-round-trip format on
 * every write), a small count one character.
 *
 * Numbers (one tag character, then the payload):
 * - 0x00–0x3F: the integer 0–63 itself;
 * - 0x40 + k (k = 1–8): a non-negative safe integer in k base-128 digits, most significant first;
 * - 0x50: a double, its 64 IEEE-754 bits in 10 characters (1 + 9 × 7 bits), high bits first;
 * - 0x51: null; 0x52: absent (an accumulator slot with no state yet).
 * Stored entries start with PACKED (0x01); JSON entries start with '['; so both read back.
 */
export const PACKED = 0x01;

const NULL = 0x51;
const ABSENT = 0x52;
const DOUBLE = 0x50;
const INT = 0x40;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
/** Index of the high 32 bits of a double in u32 (1 on little-endian machines). */
const HI = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

/** Builds one packed text; reused write after write (reset() starts over). */
export class PackWriter {
  private buf = Buffer.allocUnsafe(256);
  private n = 0;

  reset(): void {
    this.n = 0;
  }

  /** One raw character (0x00–0x7F). */
  char(c: number): void {
    if (this.n === this.buf.length) this.grow();
    this.buf[this.n++] = c;
  }

  num(x: number): void {
    if (this.n + 11 > this.buf.length) this.grow();
    const b = this.buf;
    // -0 takes the double path, so it reads back as -0.
    if (Number.isSafeInteger(x) && x >= 0 && (x !== 0 || 1 / x > 0)) {
      if (x < 64) {
        b[this.n++] = x;
        return;
      }
      let k = 1;
      for (let y = Math.floor(x / 128); y > 0; y = Math.floor(y / 128)) k++;
      b[this.n++] = INT + k;
      for (let i = k - 1; i >= 0; i--) {
        b[this.n + i] = x % 128;
        x = Math.floor(x / 128);
      }
      this.n += k;
      return;
    }
    f64[0] = x;
    const hi = u32[HI]!;
    const lo = u32[LO]!;
    const n = this.n;
    b[n] = DOUBLE;
    b[n + 1] = hi >>> 31;
    b[n + 2] = (hi >>> 24) & 127;
    b[n + 3] = (hi >>> 17) & 127;
    b[n + 4] = (hi >>> 10) & 127;
    b[n + 5] = (hi >>> 3) & 127;
    b[n + 6] = ((hi & 7) << 4) | (lo >>> 28);
    b[n + 7] = (lo >>> 21) & 127;
    b[n + 8] = (lo >>> 14) & 127;
    b[n + 9] = (lo >>> 7) & 127;
    b[n + 10] = lo & 127;
    this.n = n + 11;
  }

  /** A number or null. */
  numOrNull(x: number | null): void {
    if (x === null) this.char(NULL);
    else this.num(x);
  }

  absent(): void {
    this.char(ABSENT);
  }

  text(): string {
    return this.buf.toString('latin1', 0, this.n);
  }

  private grow(): void {
    const b = Buffer.allocUnsafe(this.buf.length * 2);
    this.buf.copy(b, 0, 0, this.n);
    this.buf = b;
  }
}

/** Thrown by PackReader on text that is not what the reader expects; the state backend turns it into STATE_CORRUPT. */
export class PackError extends Error {}

/** Reads a packed text from a position; reset() points it at another text. */
export class PackReader {
  pos = 0;
  private s = '';

  reset(s: string, pos: number): void {
    this.s = s;
    this.pos = pos;
  }

  get done(): boolean {
    return this.pos >= this.s.length;
  }

  char(): number {
    if (this.pos >= this.s.length) throw new PackError(`packed state ends early (${this.s.length} characters)`);
    return this.s.charCodeAt(this.pos++);
  }

  /** Whether the next value is the absent tag (consumed if so). */
  absent(): boolean {
    if (this.s.charCodeAt(this.pos) !== ABSENT) return false;
    this.pos++;
    return true;
  }

  num(): number {
    const x = this.numOrNull();
    if (x === null) throw new PackError(`a number was expected at character ${this.pos - 1}, found null`);
    return x;
  }

  numOrNull(): number | null {
    const s = this.s;
    const at = this.pos;
    const t = this.char();
    if (t < 64) return t;
    if (t === NULL) return null;
    if (t > INT && t <= INT + 8) {
      if (at + 1 + (t - INT) > s.length) throw new PackError(`packed state ends early (${s.length} characters)`);
      let x = 0;
      for (let i = 0; i < t - INT; i++) x = x * 128 + this.digit(s.charCodeAt(this.pos++));
      return x;
    }
    if (t === DOUBLE) {
      const p = this.pos;
      if (p + 10 > s.length) throw new PackError(`packed state ends early (${s.length} characters)`);
      // (No helper closure per digit: this runs for every double read.)
      const c0 = s.charCodeAt(p);
      const c5 = s.charCodeAt(p + 5);
      const hi = (c0 << 31) | (s.charCodeAt(p + 1) << 24) | (s.charCodeAt(p + 2) << 17) | (s.charCodeAt(p + 3) << 10) | (s.charCodeAt(p + 4) << 3) | (c5 >>> 4);
      const lo = ((c5 & 15) << 28) | (s.charCodeAt(p + 6) << 21) | (s.charCodeAt(p + 7) << 14) | (s.charCodeAt(p + 8) << 7) | s.charCodeAt(p + 9);
      // Every digit below 0x80 (and the first 0 or 1): OR-ing them all shows any that is not.
      let all = c5;
      for (let i = 1; i < 10; i++) all |= s.charCodeAt(p + i);
      if (c0 > 1 || all > 127) throw new PackError(`bad double at character ${at}`);
      u32[HI] = hi >>> 0;
      u32[LO] = lo >>> 0;
      this.pos = p + 10;
      return f64[0]!;
    }
    throw new PackError(`unknown tag 0x${t.toString(16)} at character ${at}`);
  }

  private digit(c: number): number {
    if (!(c < 128)) throw new PackError(`a character above 0x7F in packed state`);
    return c;
  }
}
