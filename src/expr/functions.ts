import { exprError, member, stringForm, typeError } from './values.js';
import type { Fn } from './values.js';

/** A compiled argument and its source text (for error messages). */
export interface Arg { fn: Fn; text: string }

export interface FunctionDef {
  min: number;
  max: number;
  /** Called after the arity check, so `args.length` is within [min, max]. */
  build(args: Arg[]): Fn;
}

export const DAY_MS = 86_400_000;
const at = (args: Arg[], i: number): Arg => args[i] as Arg;

function num(v: unknown, text: string): number {
  if (typeof v !== 'number') throw typeError('a number', text, v);
  return v;
}
function int(v: unknown, text: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw typeError('an integer', text, v);
  return v;
}
function str(v: unknown, text: string): string {
  if (typeof v !== 'string') throw typeError('a string', text, v);
  return v;
}

/** Like division by zero, out-of-domain math (sqrt(-1), log(0)) is an error rather than NaN or Infinity. */
export function finite(result: number, call: string, input: number): number {
  if (Number.isFinite(result) || !Number.isFinite(input)) return result;
  throw exprError(`\`${call}\` gave ${result} for input ${input}`);
}

const math1 = (f: (x: number) => number, name: string, checked = false): FunctionDef => ({
  min: 1, max: 1,
  build(args) {
    const { fn, text } = at(args, 0);
    const call = `${name}(${text})`;
    return (s) => {
      const x = fn(s);
      if (typeof x !== 'number') throw typeError('a number', text, x);
      return checked ? finite(f(x), call, x) : f(x);
    };
  },
});

const str1 = (f: (x: string) => unknown): FunctionDef => ({
  min: 1, max: 1,
  build(args) {
    const { fn, text } = at(args, 0);
    return (s) => f(str(fn(s), text));
  },
});

const str2 = (f: (a: string, b: string) => unknown): FunctionDef => ({
  min: 2, max: 2,
  build(args) {
    const a = at(args, 0), b = at(args, 1);
    return (s) => f(str(a.fn(s), a.text), str(b.fn(s), b.text));
  },
});

/** min/max: several numbers, or one list of numbers. */
const extremum = (pick: (a: number, b: number) => number, name: string): FunctionDef => ({
  min: 1, max: Infinity,
  build(args) {
    if (args.length === 1) {
      const { fn, text } = at(args, 0);
      return (s) => {
        const v = fn(s);
        if (typeof v === 'number') return v;
        if (!Array.isArray(v)) throw typeError('a number or a list of numbers', text, v);
        if (v.length === 0) throw exprError(`${name}() of an empty list in \`${text}\``);
        let acc = num(v[0], `${text}[0]`);
        for (let i = 1; i < v.length; i++) acc = pick(acc, num(v[i], `${text}[${i}]`));
        return acc;
      };
    }
    const fns = args.map((a) => a.fn), texts = args.map((a) => a.text);
    return (s) => {
      let acc = num((fns[0] as Fn)(s), texts[0] as string);
      for (let i = 1; i < fns.length; i++) acc = pick(acc, num((fns[i] as Fn)(s), texts[i] as string));
      return acc;
    };
  },
});

/** Round half away from zero; the epsilon nudge makes round(1.005, 2) give 1.01. */
function round(x: number, digits: number): number {
  if (digits === 0) return Math.sign(x) * Math.round(Math.abs(x));
  const f = 10 ** digits;
  return (Math.sign(x) * Math.round(Math.abs(x) * f * (1 + Number.EPSILON))) / f;
}

const ISO_DATE = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}:\d{2})?)?$/;

/** Epoch ms from a number or an ISO-8601 string; a string without an offset is UTC. */
function epochMs(v: unknown, text: string): number {
  if (typeof v === 'number') {
    if (Number.isFinite(v)) return v;
  } else if (typeof v === 'string') {
    const m = ISO_DATE.exec(v);
    if (m) {
      const t = Date.parse(`${m[1]}T${m[2] ?? '00:00'}${m[3] ?? 'Z'}`);
      // Date.parse rolls 2024-02-30 over to March 1st; reject days past the month's end.
      const [y, mo, d] = (m[1] as string).split('-').map(Number) as [number, number, number];
      if (!Number.isNaN(t) && d <= civil(Date.UTC(y, mo, 0), 'd')) return t;
    }
  }
  throw typeError('an epoch-ms number or ISO date string', text, v);
}

/** Year, month or day of a UTC instant, without allocating a Date (Hinnant's civil_from_days). */
export function civil(t: number, part: 'y' | 'm' | 'd'): number {
  const z = Math.floor(t / DAY_MS) + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const m = mp < 10 ? mp + 3 : mp - 9;
  if (part === 'm') return m;
  if (part === 'd') return doy - Math.floor((153 * mp + 2) / 5) + 1;
  return yoe + era * 400 + (m <= 2 ? 1 : 0);
}

export const mod = (a: number, b: number): number => ((a % b) + b) % b;

const date1 = (f: (t: number) => number): FunctionDef => ({
  min: 1, max: 1,
  build(args) {
    const { fn, text } = at(args, 0);
    return (s) => f(epochMs(fn(s), text));
  },
});

/** 32-bit FNV-1a over the UTF-8 bytes of the string form: stable across processes and languages. */
export function fnv1a(value: unknown): number {
  const s = stringForm(value);
  let h = 0x811c9dc5;
  const byte = (b: number): void => { h = Math.imul(h ^ b, 0x01000193); };
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) { byte(c); continue; }
    if (c < 0x800) { byte(0xc0 | (c >> 6)); byte(0x80 | (c & 63)); continue; }
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        byte(0xf0 | (c >> 18)); byte(0x80 | ((c >> 12) & 63)); byte(0x80 | ((c >> 6) & 63)); byte(0x80 | (c & 63));
        continue;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // lone surrogate: as TextEncoder does
    byte(0xe0 | (c >> 12)); byte(0x80 | ((c >> 6) & 63)); byte(0x80 | (c & 63));
  }
  return h >>> 0;
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;

export const TABLE: ReadonlyMap<string, FunctionDef> = new Map<string, FunctionDef>([
  ['abs', math1(Math.abs, 'abs')],
  ['ceil', math1(Math.ceil, 'ceil')],
  ['floor', math1(Math.floor, 'floor')],
  ['round', {
    min: 1, max: 2,
    build(args) {
      const x = at(args, 0), d = args[1];
      if (d === undefined) return (s) => round(num(x.fn(s), x.text), 0);
      return (s) => {
        const v = num(x.fn(s), x.text);
        const digits = d.fn(s);
        if (typeof digits !== 'number' || !Number.isInteger(digits) || digits < -15 || digits > 15) throw typeError('an integer from -15 to 15', d.text, digits);
        return round(v, digits);
      };
    },
  }],
  ['sqrt', math1(Math.sqrt, 'sqrt', true)],
  ['exp', math1(Math.exp, 'exp', true)],
  ['log', math1(Math.log, 'log', true)],
  ['log1p', math1(Math.log1p, 'log1p', true)],
  ['pow', {
    min: 2, max: 2,
    build(args) {
      const a = at(args, 0), b = at(args, 1), call = `pow(${a.text}, ${b.text})`;
      return (s) => {
        const x = num(a.fn(s), a.text);
        return finite(x ** num(b.fn(s), b.text), call, x);
      };
    },
  }],
  ['min', extremum(Math.min, 'min')],
  ['max', extremum(Math.max, 'max')],
  ['clamp', {
    min: 3, max: 3,
    build(args) {
      const x = at(args, 0), lo = at(args, 1), hi = at(args, 2);
      return (s) => {
        const v = num(x.fn(s), x.text), l = num(lo.fn(s), lo.text), h = num(hi.fn(s), hi.text);
        if (l > h) throw exprError(`clamp() lower bound ${l} is above upper bound ${h}`);
        return v < l ? l : v > h ? h : v;
      };
    },
  }],
  ['len', {
    min: 1, max: 1,
    build(args) {
      const { fn, text } = at(args, 0);
      return (s) => {
        const v = fn(s);
        if (typeof v === 'string' || Array.isArray(v)) return v.length;
        throw typeError('a string or list', text, v);
      };
    },
  }],
  ['lower', str1((x) => x.toLowerCase())],
  ['upper', str1((x) => x.toUpperCase())],
  ['trim', str1((x) => x.trim())],
  ['concat', {
    min: 1, max: Infinity,
    build(args) {
      const fns = args.map((a) => a.fn);
      return (s) => {
        let out = '';
        for (const f of fns) {
          const v = f(s);
          if (v !== null && v !== undefined) out += stringForm(v);
        }
        return out;
      };
    },
  }],
  ['substr', {
    min: 2, max: 3,
    build(args) {
      const a = at(args, 0), b = at(args, 1), c = args[2];
      return (s) => {
        const v = str(a.fn(s), a.text);
        const start = int(b.fn(s), b.text);
        const from = start < 0 ? Math.max(v.length + start, 0) : Math.min(start, v.length);
        if (c === undefined) return v.slice(from);
        const n = int(c.fn(s), c.text);
        if (n < 0) throw typeError('a non-negative length', c.text, n);
        return v.slice(from, from + n);
      };
    },
  }],
  ['contains', { min: 2, max: 2, build(args) { const c = at(args, 0), x = at(args, 1); return (s) => member(c.fn(s), x.fn(s), c.text, x.text); } }],
  ['startsWith', str2((a, b) => a.startsWith(b))],
  ['endsWith', str2((a, b) => a.endsWith(b))],
  ['coalesce', {
    min: 1, max: Infinity,
    build(args) {
      const fns = args.map((a) => a.fn);
      return (s) => {
        for (const f of fns) {
          const v = f(s);
          if (v !== null && v !== undefined) return v;
        }
        return null;
      };
    },
  }],
  ['isNull', { min: 1, max: 1, build(args) { const { fn } = at(args, 0); return (s) => fn(s) == null; } }],
  ['number', {
    min: 1, max: 1,
    build(args) {
      const { fn, text } = at(args, 0);
      return (s) => {
        const v = fn(s);
        if (typeof v === 'number') return v;
        if (typeof v === 'boolean') return v ? 1 : 0;
        if (typeof v === 'string' && DECIMAL.test(v.trim())) return Number(v);
        throw typeError('a number or numeric string', text, v);
      };
    },
  }],
  ['string', { min: 1, max: 1, build(args) { const { fn } = at(args, 0); return (s) => stringForm(fn(s)); } }],
  ['bool', {
    min: 1, max: 1,
    build(args) {
      const { fn, text } = at(args, 0);
      return (s) => {
        const v = fn(s);
        if (typeof v === 'boolean') return v;
        if (typeof v === 'number' && !Number.isNaN(v)) return v !== 0;
        if (typeof v === 'string') {
          const t = v.trim().toLowerCase();
          if (t === 'true' || t === '1') return true;
          if (t === 'false' || t === '0') return false;
        }
        throw typeError('a boolean, number or "true"/"false"', text, v);
      };
    },
  }],
  ['if', {
    min: 3, max: 3,
    build(args) {
      const c = at(args, 0), a = at(args, 1).fn, b = at(args, 2).fn;
      return (s) => {
        const v = c.fn(s);
        if (v === true) return a(s);
        if (v === false) return b(s);
        throw typeError('a boolean', c.text, v);
      };
    },
  }],
  ['hour', date1((t) => Math.floor(mod(t, DAY_MS) / 3_600_000))],
  ['dayOfWeek', date1((t) => mod(Math.floor(t / DAY_MS) + 4, 7))], // 1970-01-01 was a Thursday
  ['month', date1((t) => civil(t, 'm'))],
  ['dayOfMonth', date1((t) => civil(t, 'd'))],
  ['year', date1((t) => civil(t, 'y'))],
  ['hash', { min: 1, max: 1, build(args) { const { fn } = at(args, 0); return (s) => fnv1a(fn(s)); } }],
]);

export const FUNCTIONS: readonly string[] = Object.freeze([...TABLE.keys()]);

export function arityText(def: FunctionDef): string {
  if (def.max === Infinity) return `at least ${def.min} argument${def.min === 1 ? '' : 's'}`;
  if (def.min === def.max) return `${def.min} argument${def.min === 1 ? '' : 's'}`;
  return `${def.min} to ${def.max} arguments`;
}
