import { TABLE, FUNCTIONS, arityText, finite } from './functions.js';
import { syntaxError } from './tokenizer.js';
import { BLOCKED, exprError, fieldReader, isObjectLike, member, readOwn, typeError } from './values.js';
import type { Fn } from './values.js';
import type { BinaryOp, Node } from './parser.js';
import type { EvalScope } from './types.js';

interface Compiled {
  fn: Fn;
  /** Set when the node's value does not depend on the record, so parents can fold it. */
  constant: boolean;
  value?: unknown;
}

interface Context {
  source: string;
  fields: string[];
}

const hasOwn = Object.hasOwn;
const FOLD_SCOPE: EvalScope = { value: {}, key: null, timestamp: 0, headers: {} };

const constant = (value: unknown): Compiled => {
  if (Array.isArray(value)) Object.freeze(value); // shared across evaluations, so callers must not mutate it
  return { fn: () => value, constant: true, value };
};

/** Evaluates a node whose inputs are all constant once, at compile time; errors stay runtime errors. */
function fold(fn: Fn, inputs: Compiled[]): Compiled {
  if (!inputs.every((c) => c.constant)) return { fn, constant: false };
  try {
    return constant(fn(FOLD_SCOPE));
  } catch {
    return { fn, constant: false };
  }
}

function orderError(l: unknown, r: unknown, lt: string, rt: string): never {
  if (typeof l === 'number') throw typeError('a number', rt, r);
  if (typeof l === 'string') throw typeError('a string', rt, r);
  throw typeError('a number or string', lt, l);
}

export function compileNode(node: Node, ctx: Context): Compiled {
  const text = (n: Node): string => ctx.source.slice(n.start, n.end);
  switch (node.type) {
    case 'literal':
      return constant(node.value);
    case 'list': {
      const items = node.items.map((n) => compileNode(n, ctx));
      const fns = items.map((c) => c.fn);
      return fold((s) => {
        const out = new Array<unknown>(fns.length);
        for (let i = 0; i < fns.length; i++) out[i] = (fns[i] as Fn)(s);
        return out;
      }, items);
    }
    case 'field': {
      const name = node.name;
      if (!ctx.fields.includes(name)) ctx.fields.push(name);
      if (BLOCKED.has(name)) return { fn: () => null, constant: false };
      return { fn: fieldReader(name), constant: false };
    }
    case 'variable':
      if (node.name === 'key') return { fn: (s) => s.key, constant: false };
      if (node.name === 'timestamp') return { fn: (s) => s.timestamp, constant: false };
      return { fn: (s) => s.headers, constant: false };
    case 'member': {
      const obj = compileNode(node.object, ctx);
      const O = obj.fn, name = node.name, ot = text(node.object);
      if (BLOCKED.has(name)) return { fn: () => null, constant: false };
      return fold((s) => {
        const o = O(s);
        if (o === null || o === undefined) return null;
        if (typeof o !== 'object') throw typeError('an object', ot, o);
        if (!hasOwn(o, name)) return null;
        const x = (o as Record<string, unknown>)[name];
        return x === undefined ? null : x;
      }, [obj]);
    }
    case 'index': {
      const obj = compileNode(node.object, ctx), idx = compileNode(node.index, ctx);
      const O = obj.fn, I = idx.fn, ot = text(node.object), it = text(node.index);
      return fold((s) => {
        const o = O(s);
        if (o === null || o === undefined) return null;
        const k = I(s);
        if (Array.isArray(o)) {
          if (typeof k !== 'number' || !Number.isInteger(k)) throw typeError('an integer index', it, k);
          const x: unknown = k >= 0 && k < o.length ? o[k] : null;
          return x === undefined ? null : x;
        }
        if (typeof o !== 'object') throw typeError('a list or object', ot, o);
        if (typeof k !== 'string') throw typeError('a string key', it, k);
        return readOwn(o, k);
      }, [obj, idx]);
    }
    case 'unary': {
      const arg = compileNode(node.operand, ctx);
      const A = arg.fn, at = text(node.operand);
      if (node.op === '-') {
        return fold((s) => {
          const x = A(s);
          if (typeof x !== 'number') throw typeError('a number', at, x);
          return -x;
        }, [arg]);
      }
      return fold((s) => {
        const x = A(s);
        if (typeof x !== 'boolean') throw typeError('a boolean', at, x);
        return !x;
      }, [arg]);
    }
    case 'binary': {
      const left = compileNode(node.left, ctx), right = compileNode(node.right, ctx);
      return fold(binary(node.op, left, right, text(node.left), text(node.right), text(node)), [left, right]);
    }
    case 'logical': {
      const left = compileNode(node.left, ctx), right = compileNode(node.right, ctx);
      const L = left.fn, R = right.fn, lt = text(node.left), rt = text(node.right);
      const fn: Fn = node.op === '&&'
        ? (s) => {
          const l = L(s);
          if (l === false) return false;
          if (l !== true) throw typeError('a boolean', lt, l);
          const r = R(s);
          if (typeof r !== 'boolean') throw typeError('a boolean', rt, r);
          return r;
        }
        : (s) => {
          const l = L(s);
          if (l === true) return true;
          if (l !== false) throw typeError('a boolean', lt, l);
          const r = R(s);
          if (typeof r !== 'boolean') throw typeError('a boolean', rt, r);
          return r;
        };
      return fold(fn, [left, right]);
    }
    case 'conditional': {
      const parts = [compileNode(node.test, ctx), compileNode(node.consequent, ctx), compileNode(node.alternate, ctx)];
      const [T, A, B] = parts.map((c) => c.fn) as [Fn, Fn, Fn];
      const tt = text(node.test);
      return fold((s) => {
        const c = T(s);
        if (c === true) return A(s);
        if (c === false) return B(s);
        throw typeError('a boolean', tt, c);
      }, parts);
    }
    case 'call': {
      const def = TABLE.get(node.name);
      if (def === undefined) throw syntaxError(ctx.source, node.start, `unknown function "${node.name}"`, `; known functions: ${FUNCTIONS.join(', ')}`);
      if (node.args.length < def.min || node.args.length > def.max) {
        throw syntaxError(ctx.source, node.start, `${node.name}() takes ${arityText(def)}, got ${node.args.length}`);
      }
      const args = node.args.map((n) => compileNode(n, ctx));
      return fold(def.build(args.map((c, i) => ({ fn: c.fn, text: text(node.args[i] as Node) }))), args);
    }
  }
}

function binary(op: BinaryOp, left: Compiled, right: Compiled, lt: string, rt: string, whole: string): Fn {
  const L = left.fn, R = right.fn;
  const k = right.value;
  // Constant numeric right operands (`amount * 1.1`, `distance > 500`) skip a call and a type check.
  if (right.constant && typeof k === 'number') {
    const numLeft = (s: EvalScope): number => {
      const l = L(s);
      if (typeof l !== 'number') throw typeError('a number', lt, l);
      return l;
    };
    switch (op) {
      case '+': return (s) => numLeft(s) + k;
      case '-': return (s) => numLeft(s) - k;
      case '*': return (s) => numLeft(s) * k;
      case '/': if (k !== 0) return (s) => numLeft(s) / k; break;
      case '%': if (k !== 0) return (s) => numLeft(s) % k; break;
      case '**': return (s) => {
        const l = numLeft(s);
        return finite(l ** k, whole, l);
      };
      case '<': return (s) => numLeft(s) < k;
      case '<=': return (s) => numLeft(s) <= k;
      case '>': return (s) => numLeft(s) > k;
      case '>=': return (s) => numLeft(s) >= k;
      default: break;
    }
  }
  if (right.constant && (op === '==' || op === '!=') && !isObjectLike(k)) {
    return op === '==' ? (s) => L(s) === k : (s) => L(s) !== k;
  }
  const num = (v: unknown, t: string): number => {
    if (typeof v !== 'number') throw typeError('a number', t, v);
    return v;
  };
  const nonZero = (v: unknown): number => {
    const r = num(v, rt);
    if (r === 0) throw exprError(`division by zero in \`${whole}\``);
    return r;
  };
  switch (op) {
    case '+': return (s) => {
      const l = L(s), r = R(s);
      if (typeof l === 'number') {
        if (typeof r === 'number') return l + r;
        throw typeError('a number', rt, r);
      }
      if (typeof l === 'string') {
        if (typeof r === 'string') return l + r;
        throw typeError('a string', rt, r);
      }
      throw typeError('a number or string', lt, l);
    };
    case '-': return (s) => num(L(s), lt) - num(R(s), rt);
    case '*': return (s) => num(L(s), lt) * num(R(s), rt);
    case '**': return (s) => {
      const l = num(L(s), lt);
      return finite(l ** num(R(s), rt), whole, l);
    };
    case '/': return (s) => num(L(s), lt) / nonZero(R(s));
    case '%': return (s) => num(L(s), lt) % nonZero(R(s));
    case '<': case '<=': case '>': case '>=': {
      const cmp = op;
      return (s) => {
        const l = L(s), r = R(s);
        if (typeof l === 'number' ? typeof r !== 'number' : typeof l !== 'string' || typeof r !== 'string') orderError(l, r, lt, rt);
        const a = l as number, b = r as number;
        return cmp === '<' ? a < b : cmp === '<=' ? a <= b : cmp === '>' ? a > b : a >= b;
      };
    }
    case '==': case '!=': {
      const negate = op === '!=';
      return (s) => {
        const l = L(s), r = R(s);
        if (isObjectLike(l) && isObjectLike(r)) throw exprError(`\`${op}\` compares numbers, strings, booleans and null, not lists or objects, in \`${whole}\``);
        return (l === r) !== negate;
      };
    }
    case 'in': {
      if (right.constant && Array.isArray(k) && k.length > 8) {
        const set = new Set<unknown>(k);
        return (s) => set.has(L(s));
      }
      return (s) => {
        const l = L(s);
        return member(R(s), l, rt, lt);
      };
    }
  }
}
