import { SluiceError } from '../core/errors.js';
import type { EvalScope } from './types.js';

export type Fn = (scope: EvalScope) => unknown;

/** Names that could lead to a prototype; reading them always yields null. */
export const BLOCKED = new Set(['__proto__', 'constructor', 'prototype']);

const hasOwn = Object.hasOwn;

/** Own-property read; a missing key, undefined or a blocked name reads as null. */
export function readOwn(obj: object, key: string): unknown {
  if (BLOCKED.has(key) || !hasOwn(obj, key)) return null;
  const v = (obj as Record<string, unknown>)[key];
  return v === undefined ? null : v;
}

type Reader = (name: string) => Fn;

/*
 * V8 shares inline-cache feedback among closures made from one function literal, so a
 * single reader literal serving many field names turns every load into a slow
 * megamorphic one. The first few distinct names get a literal of their own, which keeps
 * their loads monomorphic (about 1.5x on field-heavy expressions); the rest share one.
 * The copies are deliberately identical.
 */
const SITES: Reader[] = [
  (name) => (s) => { const v = s.value; if (!hasOwn(v, name)) return null; const x = v[name]; return x === undefined ? null : x; },
  (name) => (s) => { const v = s.value; if (!hasOwn(v, name)) return null; const x = v[name]; return x === undefined ? null : x; },
  (name) => (s) => { const v = s.value; if (!hasOwn(v, name)) return null; const x = v[name]; return x === undefined ? null : x; },
  (name) => (s) => { const v = s.value; if (!hasOwn(v, name)) return null; const x = v[name]; return x === undefined ? null : x; },
  (name) => (s) => { const v = s.value; if (!hasOwn(v, name)) return null; const x = v[name]; return x === undefined ? null : x; },
  (name) => (s) => { const v = s.value; if (!hasOwn(v, name)) return null; const x = v[name]; return x === undefined ? null : x; },
  (name) => (s) => { const v = s.value; if (!hasOwn(v, name)) return null; const x = v[name]; return x === undefined ? null : x; },
  (name) => (s) => { const v = s.value; if (!hasOwn(v, name)) return null; const x = v[name]; return x === undefined ? null : x; },
];
const sharedReader: Reader = (name) => (s) => { const v = s.value; if (!hasOwn(v, name)) return null; const x = v[name]; return x === undefined ? null : x; };
const siteOf = new Map<string, Reader>();

/** A closure reading own top-level field `name` of the record value; missing reads as null. */
export function fieldReader(name: string): Fn {
  let site = siteOf.get(name);
  if (site === undefined) {
    site = SITES[siteOf.size] ?? sharedReader;
    if (siteOf.size < SITES.length) siteOf.set(name, site);
  }
  return site(name);
}

function preview(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = '[unserialisable]';
  }
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
}

/** "string \"abc\"", "number 5", "null", "list [1,2]": how error messages name a value. */
export function describe(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return `list ${preview(v)}`;
  switch (typeof v) {
    case 'string': return `string ${preview(v)}`;
    case 'number': return `number ${String(v)}`;
    case 'bigint': return `bigint ${String(v)}`;
    case 'boolean': return `boolean ${String(v)}`;
    case 'object': return `object ${preview(v)}`;
    default: return typeof v;
  }
}

export function exprError(message: string): SluiceError {
  return new SluiceError('EXPRESSION_ERROR', message);
}

/** `expected a number for \`amount\`, got string "abc"` */
export function typeError(expected: string, text: string, v: unknown): SluiceError {
  return exprError(`expected ${expected} for \`${text}\`, got ${describe(v)}`);
}

export function isObjectLike(v: unknown): v is object {
  return typeof v === 'object' && v !== null;
}

/** The string form used by string(), concat() and hash(): JSON for lists and objects. */
export function stringForm(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'object') {
    try {
      return JSON.stringify(v);
    } catch (err) {
      throw new SluiceError('EXPRESSION_ERROR', `cannot convert value to a string: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return String(v);
}

/** `x in c` and contains(c, x): list membership (strict equality) or substring. */
export function member(container: unknown, item: unknown, containerText: string, itemText: string): boolean {
  if (Array.isArray(container)) return container.includes(item);
  if (typeof container === 'string') {
    if (typeof item !== 'string') throw typeError('a string', itemText, item);
    return container.includes(item);
  }
  throw typeError('a list or string', containerText, container);
}
