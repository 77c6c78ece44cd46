import { DAY_MS, civil, fnv1a } from './functions.js';
import type { Node } from './parser.js';

/**
 * Column-at-a-time evaluation of numeric expressions, for columnar batches: each node
 * runs one tight loop over the batch instead of one closure call per row. It covers
 * arithmetic, comparisons, `?:` and the numeric and date functions over number columns
 * without nulls, and the null-aware `coalesce(field, …)` and `isNull(field)` over number
 * columns with nulls (a window's empty results), so such a batch stays columnar. Anything it cannot do exactly as the row evaluator would (a zero
 * divisor, a non-finite math result, a null) makes it give up on the batch (null), and
 * the caller evaluates row by row, which raises the precise per-record errors.
 */
export type NumberColumns = (field: string) => Float64Array | undefined;

/** What the vector evaluator may read besides clean number columns. */
export interface ColumnReaders {
  /** A column whose every value is a string, or undefined. */
  strings?(field: string): readonly string[] | undefined;
  /** True when the batch has no such column at all (every record reads null). */
  absent?(field: string): boolean;
  /**
   * A number column with nulls: `nulls[i]` is 1 where row i reads null, and every other
   * value is finite; undefined when the column is anything else.
   */
  nullable?(field: string): { values: Float64Array; nulls: Uint8Array } | undefined;
}
/** Numbers with nulls: `nulls[i]` is 1 where row i is null (its value is then meaningless). */
export interface NullableNumbers { values: Float64Array; nulls: Uint8Array }

/** The literal null (a column of nulls). Only `?:` passes it on; anything else gives up on it. */
const NULL = Object.freeze({ null: true });

// number: a constant; Uint8Array: booleans (0/1)
type Vec = number | Float64Array | Uint8Array | NullableNumbers | typeof NULL;
type Kernel = (cols: NumberColumns, n: number, more: ColumnReaders) => Vec | null;

/** Numbers, booleans (0/1), or null: go row by row. */
export type VectorFn = (cols: NumberColumns, n: number, more?: ColumnReaders) => Float64Array | Uint8Array | null;
/** A VectorFn that may also give numbers with nulls (e.g. `isNull(x) ? null : x * 2`). */
export type NullableVectorFn = (cols: NumberColumns, n: number, more?: ColumnReaders) => Float64Array | Uint8Array | NullableNumbers | null;

/** The expression a column at a time; a result with nulls makes it give up (null). */
export function compileVector(node: Node): VectorFn | null {
  const f = compileNullableVector(node);
  return f && ((cols, n, more) => {
    const v = f(cols, n, more);
    return v instanceof Float64Array || v instanceof Uint8Array ? v : null;
  });
}

export function compileNullableVector(node: Node): NullableVectorFn | null {
  const k = kernel(node);
  if (!k) return null;
  return (cols, n, more = {}) => {
    const v = k(cols, n, more);
    if (v === null) return null;
    if (typeof v === 'number') return new Float64Array(n).fill(v);
    if (v === NULL) return { values: new Float64Array(n), nulls: new Uint8Array(n).fill(1) };
    return v as Float64Array | Uint8Array | NullableNumbers;
  };
}

const isNum = (v: Vec): v is number | Float64Array => typeof v === 'number' || v instanceof Float64Array;

// Each operation has its own loop (no callback per element): a loop shared by all
// operations would call through a megamorphic function and cost several times more.

type Unary = (a: Float64Array, out: Float64Array) => boolean; // false: a non-finite result

/** Results for the same UTC day are reused: dates in a batch usually share a few days. */
function perDay(f: (t: number) => number): Unary {
  return (a, out) => {
    let day = NaN;
    let value = 0;
    for (let i = 0; i < a.length; i++) {
      const t = a[i]!;
      const d = Math.floor(t / DAY_MS);
      if (d !== day) {
        day = d;
        value = f(t);
      }
      out[i] = value;
    }
    return true;
  };
}

/**
 * x % y exactly as JS computes it, without V8's slow fmod call when both are integers
 * and |x| ≤ 2^53: then x / y is within half an ulp of the true quotient, which is
 * closer than that to an integer only if it is one, so the truncated quotient is exact.
 */
function rem(x: number, y: number): number {
  if (x === Math.floor(x) && y === Math.floor(y) && y !== 0 && Math.abs(x) <= 2 ** 53 && Math.abs(y) <= 2 ** 53) {
    const r = x - y * Math.trunc(x / y);
    return r !== 0 ? r : x < 0 || 1 / x < 0 ? -0 : 0; // a zero takes the dividend's sign
  }
  return x % y;
}

/** functions.ts's mod, on rem. */
const modulo = (a: number, b: number): number => rem(rem(a, b) + b, b);

function finiteAll(out: Float64Array): boolean {
  for (let i = 0; i < out.length; i++) if (!Number.isFinite(out[i]!)) return false;
  return true;
}

const MATH: Record<string, Unary> = {
  abs: (a, o) => { for (let i = 0; i < a.length; i++) o[i] = Math.abs(a[i]!); return true; },
  ceil: (a, o) => { for (let i = 0; i < a.length; i++) o[i] = Math.ceil(a[i]!); return true; },
  floor: (a, o) => { for (let i = 0; i < a.length; i++) o[i] = Math.floor(a[i]!); return true; },
  sqrt: (a, o) => { for (let i = 0; i < a.length; i++) o[i] = Math.sqrt(a[i]!); return finiteAll(o); },
  exp: (a, o) => { for (let i = 0; i < a.length; i++) o[i] = Math.exp(a[i]!); return finiteAll(o); },
  log: (a, o) => { for (let i = 0; i < a.length; i++) o[i] = Math.log(a[i]!); return finiteAll(o); },
  log1p: (a, o) => { for (let i = 0; i < a.length; i++) o[i] = Math.log1p(a[i]!); return finiteAll(o); },
  hour: (a, o) => { for (let i = 0; i < a.length; i++) o[i] = Math.floor(modulo(a[i]!, DAY_MS) / 3_600_000); return true; },
  dayOfWeek: (a, o) => { for (let i = 0; i < a.length; i++) o[i] = modulo(Math.floor(a[i]! / DAY_MS) + 4, 7); return true; },
  month: perDay((t) => civil(t, 'm')),
  dayOfMonth: perDay((t) => civil(t, 'd')),
  year: perDay((t) => civil(t, 'y')),
};

function unary(a: Vec | null, n: number, column: Unary): Vec | null {
  if (a === null || !isNum(a)) return null;
  if (typeof a === 'number') {
    const out = new Float64Array(1);
    return column(new Float64Array([a]), out) ? out[0]! : null;
  }
  const out = new Float64Array(n);
  return column(a.length === n ? a : a.subarray(0, n), out) ? out : null;
}

function negate(a: Vec | null, n: number): Vec | null {
  if (a === null || !isNum(a)) return null;
  if (typeof a === 'number') return -a;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = -a[i]!;
  return out;
}

/** a op b, element by element; a number stands for a column of that value. */
function arith(op: string, a: Vec | null, b: Vec | null, n: number): Float64Array | number | null {
  if (a === null || b === null || !isNum(a) || !isNum(b)) return null;
  if (typeof a === 'number' && typeof b === 'number') return ARITH[op]!(a, b);
  const out = new Float64Array(n);
  if (typeof a === 'number') a = new Float64Array(n).fill(a);
  if (typeof b === 'number') {
    const y = b;
    switch (op) {
      case '+': for (let i = 0; i < n; i++) out[i] = a[i]! + y; break;
      case '-': for (let i = 0; i < n; i++) out[i] = a[i]! - y; break;
      case '*': for (let i = 0; i < n; i++) out[i] = a[i]! * y; break;
      case '/': for (let i = 0; i < n; i++) out[i] = a[i]! / y; break;
      case '%': for (let i = 0; i < n; i++) out[i] = rem(a[i]!, y); break;
      case 'min': for (let i = 0; i < n; i++) out[i] = Math.min(a[i]!, y); break;
      case 'max': for (let i = 0; i < n; i++) out[i] = Math.max(a[i]!, y); break;
    }
    return out;
  }
  switch (op) {
    case '+': for (let i = 0; i < n; i++) out[i] = a[i]! + b[i]!; break;
    case '-': for (let i = 0; i < n; i++) out[i] = a[i]! - b[i]!; break;
    case '*': for (let i = 0; i < n; i++) out[i] = a[i]! * b[i]!; break;
    case '/': for (let i = 0; i < n; i++) out[i] = a[i]! / b[i]!; break;
    case '%': for (let i = 0; i < n; i++) out[i] = rem(a[i]!, b[i]!); break;
    case 'min': for (let i = 0; i < n; i++) out[i] = Math.min(a[i]!, b[i]!); break;
    case 'max': for (let i = 0; i < n; i++) out[i] = Math.max(a[i]!, b[i]!); break;
  }
  return out;
}

function compare(op: string, a: Vec | null, b: Vec | null, n: number): Uint8Array | null {
  if (a === null || b === null || !isNum(a) || !isNum(b)) return null;
  const x = typeof a === 'number' ? new Float64Array(n).fill(a) : a;
  const y = typeof b === 'number' ? new Float64Array(n).fill(b) : b;
  const out = new Uint8Array(n);
  switch (op) {
    case '<': for (let i = 0; i < n; i++) out[i] = x[i]! < y[i]! ? 1 : 0; break;
    case '<=': for (let i = 0; i < n; i++) out[i] = x[i]! <= y[i]! ? 1 : 0; break;
    case '>': for (let i = 0; i < n; i++) out[i] = x[i]! > y[i]! ? 1 : 0; break;
    case '>=': for (let i = 0; i < n; i++) out[i] = x[i]! >= y[i]! ? 1 : 0; break;
    case '==': for (let i = 0; i < n; i++) out[i] = x[i]! === y[i]! ? 1 : 0; break;
    case '!=': for (let i = 0; i < n; i++) out[i] = x[i]! !== y[i]! ? 1 : 0; break;
  }
  return out;
}

function hasZero(v: Vec): boolean {
  if (typeof v === 'number') return v === 0;
  if (!(v instanceof Float64Array || v instanceof Uint8Array)) return false; // not numbers: the operation gives up
  for (let i = 0; i < v.length; i++) if (v[i] === 0) return true;
  return false;
}

const ARITH: Record<string, (x: number, y: number) => number> = {
  '+': (x, y) => x + y,
  '-': (x, y) => x - y,
  '*': (x, y) => x * y,
  '/': (x, y) => x / y,
  '%': (x, y) => x % y,
  min: Math.min,
  max: Math.max,
};

const COMPARE = new Set(['<', '<=', '>', '>=', '==', '!=']);

/** fnv1a of a string column; a column holds few distinct strings (airports, categories), so each is hashed once per batch. */
function hashStrings(strs: readonly string[], n: number): Float64Array {
  const out = new Float64Array(n);
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const s = strs[i]!;
    let h = seen.get(s);
    if (h === undefined) seen.set(s, (h = fnv1a(s)));
    out[i] = h;
  }
  return out;
}

/** test ? a : b where a branch is the literal null and the other numbers (or null too). */
function choiceWithNull(test: Uint8Array, a: Vec, b: Vec, n: number): NullableNumbers | null {
  if ((a !== NULL && !isNum(a)) || (b !== NULL && !isNum(b))) return null;
  const values = new Float64Array(n);
  const nulls = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = test[i] ? a : b;
    if (v === NULL) nulls[i] = 1;
    else values[i] = typeof v === 'number' ? v : (v as Float64Array)[i]!;
  }
  return { values, nulls };
}

/** The column's values where not null, the fallback's where null (the fallback must be numbers). */
function fillNulls(values: Float64Array, nulls: Uint8Array, fallback: Vec | null, n: number): Float64Array | null {
  if (fallback === null || !isNum(fallback)) return null;
  const out = new Float64Array(n);
  if (typeof fallback === 'number') for (let i = 0; i < n; i++) out[i] = nulls[i] ? fallback : values[i]!;
  else for (let i = 0; i < n; i++) out[i] = nulls[i] ? fallback[i]! : values[i]!;
  return out;
}

function kernel(node: Node): Kernel | null {
  switch (node.type) {
    case 'literal':
      if (node.value === null) return () => NULL;
      return typeof node.value === 'number' ? () => node.value as number : null;
    case 'field': {
      const name = node.name;
      return (cols) => cols(name) ?? null;
    }
    case 'unary': {
      if (node.op !== '-') return null;
      const a = kernel(node.operand);
      return a && ((c, n, x) => negate(a(c, n, x), n));
    }
    case 'binary': {
      const l = kernel(node.left);
      const r = kernel(node.right);
      if (!l || !r) return null;
      const op = node.op;
      if (ARITH[op]) {
        const divides = op === '/' || op === '%';
        return (c, n, x) => {
          const b = r(c, n, x);
          if (b === null || (divides && hasZero(b))) return null;
          return arith(op, l(c, n, x), b, n);
        };
      }
      return COMPARE.has(op) ? (c, n, x) => compare(op, l(c, n, x), r(c, n, x), n) : null;
    }
    case 'conditional': {
      const t = kernel(node.test);
      const y = kernel(node.consequent);
      const z = kernel(node.alternate);
      if (!t || !y || !z) return null;
      return (c, n, x) => {
        const test = t(c, n, x);
        if (!(test instanceof Uint8Array)) return null;
        const a = y(c, n, x);
        const b = z(c, n, x);
        if (a === null || b === null) return null;
        if (a === NULL || b === NULL) return choiceWithNull(test, a, b, n);
        if (!isNum(a) || !isNum(b)) return null;
        const out = new Float64Array(n);
        const ya = typeof a === 'number' ? new Float64Array(n).fill(a) : a;
        const za = typeof b === 'number' ? new Float64Array(n).fill(b) : b;
        for (let i = 0; i < n; i++) out[i] = test[i] ? ya[i]! : za[i]!;
        return out;
      };
    }
    case 'call': {
      const first = node.args[0];
      if (node.name === 'hash' && node.args.length === 1 && first?.type === 'field') {
        // Strings hash the same way row by row and here (fnv1a of the string itself).
        const name = first.name;
        return (_c, n, x) => {
          const strs = x.strings?.(name);
          return strs ? hashStrings(strs, n) : null;
        };
      }
      if (node.name === 'coalesce' && node.args.length === 2 && first?.type === 'field') {
        // A column the batch does not have reads null in every row: the fallback wins.
        const name = first.name;
        const fallback = kernel(node.args[1]!);
        return fallback && ((c, n, x) => {
          if (x.absent?.(name)) return fallback(c, n, x);
          const clean = c(name);
          if (clean) return clean;
          const col = x.nullable?.(name);
          return col ? fillNulls(col.values, col.nulls, fallback(c, n, x), n) : null;
        });
      }
      if (node.name === 'isNull' && node.args.length === 1 && first?.type === 'field') {
        const name = first.name;
        return (c, n, x) => {
          if (x.absent?.(name)) return new Uint8Array(n).fill(1);
          if (c(name) || x.strings?.(name)) return new Uint8Array(n);
          const col = x.nullable?.(name);
          return col ? col.nulls.slice(0, n) : null;
        };
      }
      const fn = MATH[node.name];
      if (fn && node.args.length === 1) {
        const a = kernel(node.args[0]!);
        return a && ((c, n, x) => unary(a(c, n, x), n, fn));
      }
      if ((node.name === 'min' || node.name === 'max') && node.args.length === 2) {
        const a = kernel(node.args[0]!);
        const b = kernel(node.args[1]!);
        const op = node.name;
        return a && b && ((c, n, x) => arith(op, a(c, n, x), b(c, n, x), n));
      }
      return null;
    }
    default:
      return null;
  }
}
