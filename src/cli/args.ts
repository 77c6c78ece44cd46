import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SluiceError } from '../core/errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs with errors that name the command and point at its help. */
export interface ParsedArgs {
  positionals: string[];
  str(name: string): string | undefined;
  flag(name: string): boolean;
  /** A repeatable string option's values (empty when absent). */
  list(name: string): string[];
}

export function parse(verb: string, argv: string[], options: Options): ParsedArgs {
  try {
    const r = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    const values = r.values as Record<string, string | boolean | undefined>;
    return {
      positionals: r.positionals,
      str: (name) => (typeof values[name] === 'string' ? (values[name] as string) : undefined),
      flag: (name) => values[name] === true,
      list: (name) => {
        const v = (r.values as Record<string, unknown>)[name];
        return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : [];
      },
    };
  } catch (err) {
    throw new SluiceError('INVALID_INPUT', `sluice ${verb}: ${(err as Error).message} (see sluice help)`);
  }
}

export function intOption(verb: string, name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new SluiceError('INVALID_INPUT', `sluice ${verb}: --${name} must be a non-negative integer; got "${value}"`);
  return n;
}

export function requirePositional(verb: string, positionals: string[], what: string): string {
  const v = positionals[0];
  if (!v) throw new SluiceError('INVALID_INPUT', `sluice ${verb}: missing ${what} (see sluice help)`);
  return v;
}
