import { DAY_MS, civil, fnv1a, mod } from './functions.js';
import type { Node } from './parser.js';

/**
 * Column-at-a-time evaluation of numeric expressions, for columnar batches: each node
 * runs one tight loop over the batch instead of one closure call per row. It covers
 * arithmetic, comparisons, `?:` and the numeric and date functions over number columns
 * without nulls. Anything it cannot do exactly as the row evaluator would (a zero
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
}
type Vec = number | Float64Array | Uint8Array; // number: a constant; Uint8Array: booleans (0/1)
type Kernel = (cols: NumberColumns, n: number, more: ColumnReaders) => Vec | null;

export type VectorFn = (cols: NumberColumns, n: number, more?: ColumnReaders) => Float64Array | Uint8Array | null;

export function compileVector(node: Node): VectorFn | null {
  const k = kernel(node);
  if (!k) return null;
  return (cols, n, more = {}) => {
    const v = k(cols, n, more);
    if (v === null) return null;
    if (typeof v === 'number') return new Float64Array(n).fill(v);
    return v;
  };
}

const isNum = (v: Vec): v is number | Float64Array => typeof v === 'number' || v instanceof Float64Array;
const at = (v: number | Float64Array, i: number): number => (typeof v === 'number' ? v : v[i]!);

function map1(a: Vec | null, n: number, f: (x: number) => number, checkFinite: boolean): Vec | null {
  if (a === null || !isNum(a)) return null;
  if (typeof a === 'number') {
    const r = f(a);
    return checkFinite && !Number.isFinite(r) ? null : r;
  }
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = f(a[i]!);
    if (checkFinite && !Number.isFinite(r)) return null;
    out[i] = r;
  }
  return out;
}

function map2(a: Vec | null, b: Vec | null, n: number, f: (x: number, y: number) => number): Float64Array | number | null {
  if (a === null || b === null || !isNum(a) || !isNum(b)) return null;
  if (typeof a === 'number' && typeof b === 'number') return f(a, b);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = f(at(a, i), at(b, i));
  return out;
}

function compare(a: Vec | null, b: Vec | null, n: number, f: (x: number, y: number) => boolean): Uint8Array | null {
  if (a === null || b === null || !isNum(a) || !isNum(b)) return null;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = f(at(a, i), at(b, i)) ? 1 : 0;
  return out;
}

function hasZero(v: Vec): boolean {
  if (typeof v === 'number') return v === 0;
  for (let i = 0; i < v.length; i++) if (v[i] === 0) return true;
  return false;
}

const MATH: Record<string, [(x: number) => number, boolean]> = {
  abs: [Math.abs, false],
  ceil: [Math.ceil, false],
  floor: [Math.floor, false],
  sqrt: [Math.sqrt, true],
  exp: [Math.exp, true],
  log: [Math.log, true],
  log1p: [Math.log1p, true],
  hour: [(t) => Math.floor(mod(t, DAY_MS) / 3_600_000), false],
  dayOfWeek: [(t) => mod(Math.floor(t / DAY_MS) + 4, 7), false],
  month: [(t) => civil(t, 'm'), false],
  dayOfMonth: [(t) => civil(t, 'd'), false],
  year: [(t) => civil(t, 'y'), false],
};

const ARITH: Record<string, (x: number, y: number) => number> = {
  '+': (x, y) => x + y,
  '-': (x, y) => x - y,
  '*': (x, y) => x * y,
  '/': (x, y) => x / y,
  '%': (x, y) => x % y,
};

const COMPARE: Record<string, (x: number, y: number) => boolean> = {
  '<': (x, y) => x < y,
  '<=': (x, y) => x <= y,
  '>': (x, y) => x > y,
  '>=': (x, y) => x >= y,
  '==': (x, y) => x === y,
  '!=': (x, y) => x !== y,
};

function kernel(node: Node): Kernel | null {
  switch (node.type) {
    case 'literal':
      return typeof node.value === 'number' ? () => node.value as number : null;
    case 'field': {
      const name = node.name;
      return (cols) => cols(name) ?? null;
    }
    case 'unary': {
      if (node.op !== '-') return null;
      const a = kernel(node.operand);
      return a && ((c, n, x) => map1(a(c, n, x), n, (v) => -v, false));
    }
    case 'binary': {
      const l = kernel(node.left);
      const r = kernel(node.right);
      if (!l || !r) return null;
      const arith = ARITH[node.op];
      if (arith) {
        const divides = node.op === '/' || node.op === '%';
        return (c, n, x) => {
          const b = r(c, n, x);
          if (b === null || (divides && hasZero(b))) return null;
          return map2(l(c, n, x), b, n, arith);
        };
      }
      const cmp = COMPARE[node.op];
      return cmp ? (c, n, x) => compare(l(c, n, x), r(c, n, x), n, cmp) : null;
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
        if (a === null || b === null || !isNum(a) || !isNum(b)) return null;
        const out = new Float64Array(n);
        for (let i = 0; i < n; i++) out[i] = test[i] ? at(a, i) : at(b, i);
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
          if (!strs) return null;
          const out = new Float64Array(n);
          for (let i = 0; i < n; i++) out[i] = fnv1a(strs[i]!);
          return out;
        };
      }
      if (node.name === 'coalesce' && node.args.length === 2 && first?.type === 'field') {
        // A column the batch does not have reads null in every row: the fallback wins.
        const name = first.name;
        const fallback = kernel(node.args[1]!);
        return fallback && ((c, n, x) => (x.absent?.(name) ? fallback(c, n, x) : (c(name) ?? null)));
      }
      const fn = MATH[node.name];
      if (fn && node.args.length === 1) {
        const a = kernel(node.args[0]!);
        return a && ((c, n, x) => map1(a(c, n, x), n, fn[0], fn[1]));
      }
      if ((node.name === 'min' || node.name === 'max') && node.args.length === 2) {
        const a = kernel(node.args[0]!);
        const b = kernel(node.args[1]!);
        const f = node.name === 'min' ? Math.min : Math.max;
        return a && b && ((c, n, x) => map2(a(c, n, x), b(c, n, x), n, f));
      }
      return null;
    }
    default:
      return null;
  }
}
