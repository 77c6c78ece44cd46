import { Value } from '@sinclair/typebox/value';
import { ValueErrorType } from '@sinclair/typebox/errors';
import type { TSchema } from '@sinclair/typebox';
import type { Issue } from './issues.js';

/**
 * Checks a value against a TypeBox schema and turns TypeBox's errors into issues
 * with plain messages that say what is allowed. One issue per path, first wins.
 */
export function schemaIssues(schema: TSchema, value: unknown, base: (string | number)[]): Issue[] {
  const issues: Issue[] = [];
  const seen = new Set<string>();
  for (const err of Value.Errors(schema, value)) {
    const rel = pointerToPath(err.path);
    const path = [...base, ...rel];
    const key = JSON.stringify(path);
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push({ path, message: describe(err.type, err.schema, err.value, err.message, rel) });
  }
  return issues;
}

function pointerToPath(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function literalChoices(schema: TSchema): string[] | null {
  const anyOf = (schema as { anyOf?: TSchema[] }).anyOf;
  if (!anyOf || !anyOf.every((s) => 'const' in s)) return null;
  return anyOf.map((s) => JSON.stringify((s as unknown as { const: unknown }).const));
}

function describe(type: ValueErrorType, schema: TSchema, value: unknown, fallback: string, rel: (string | number)[]): string {
  const got = value === undefined ? 'nothing' : `${Array.isArray(value) ? 'a list' : typeof value} ${short(value)}`;
  switch (type) {
    case ValueErrorType.ObjectRequiredProperty:
      return `required, but missing`;
    case ValueErrorType.ObjectAdditionalProperties: {
      const allowed = Object.keys((schema as { properties?: object }).properties ?? {});
      return `unknown property "${String(rel[rel.length - 1])}"; allowed: ${allowed.join(', ')}`;
    }
    case ValueErrorType.Union: {
      const choices = literalChoices(schema);
      if (choices) return `must be one of ${choices.join(', ')}; got ${short(value)}`;
      return `${fallback}; got ${got}`;
    }
    case ValueErrorType.Literal:
      return `must be ${JSON.stringify((schema as unknown as { const: unknown }).const)}; got ${short(value)}`;
    case ValueErrorType.String:
    case ValueErrorType.Number:
    case ValueErrorType.Integer:
    case ValueErrorType.Boolean:
    case ValueErrorType.Array:
    case ValueErrorType.Object:
      return `expected ${fallback.replace(/^Expected /, '').toLowerCase()}; got ${got}`;
    case ValueErrorType.StringPattern:
      return `${short(value)} has characters that are not allowed (use letters, digits, '.', '_' and '-')`;
    case ValueErrorType.StringMinLength:
      return 'must not be empty';
    case ValueErrorType.ArrayMinItems:
    case ValueErrorType.ObjectMinProperties:
      return 'must not be empty';
    case ValueErrorType.ObjectMaxProperties:
      return 'must have exactly one key';
    default:
      return `${fallback}; got ${got}`;
  }
}

function short(value: unknown): string {
  const s = JSON.stringify(value);
  if (s === undefined) return String(value);
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
}
