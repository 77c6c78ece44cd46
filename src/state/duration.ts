import { Type } from '@sinclair/typebox';

/** A duration in config: milliseconds as a number, or text like "500ms", "30s", "5m", "1h", "1d". */
export const DurationSchema = Type.Union([Type.String({ minLength: 1 }), Type.Number({ minimum: 0 })]);

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds, or undefined when the value is not a duration. */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(v);
  return m ? Number(m[1]) * UNITS[m[2]!]! : undefined;
}

export const DURATION_HELP = 'use milliseconds as a number, or a number with ms, s, m, h or d (e.g. "500ms", "30s", "5m", "1h")';
