import { SluiceError } from '../core/errors.js';
import type { OnlineConfig } from '../topology/online-schema.js';

export type { OnlineConfig };


export interface ResolvedOnlineConfig {
  port: number;
  host: string;
  tokens: string[];
  bodyLimit: number;
  maxInFlight: number;
  deadlineMs: number;
  priority: number;
  drainTimeoutMs: number;
  /** served name → version → topology model name */
  models: Map<string, Map<string, string>>;
  mode: 'direct' | 'bridge';
}

/** Flags that override the `online:` section. */
export interface OnlineFlags {
  port?: number;
  host?: string;
  tokens?: string[];
  deadlineMs?: number;
}

export function resolveOnlineConfig(cfg: OnlineConfig | undefined, modelNames: readonly string[], flags: OnlineFlags = {}): ResolvedOnlineConfig {
  const c = cfg ?? {};
  const models = new Map<string, Map<string, string>>();
  if (c.models) {
    for (const [served, { versions }] of Object.entries(c.models)) {
      for (const m of Object.values(versions)) {
        if (!modelNames.includes(m)) throw new SluiceError('INVALID_TOPOLOGY', `online.models.${served}.versions: unknown model "${m}"; defined models: ${modelNames.join(', ') || 'none'}`);
      }
      models.set(served, new Map(Object.entries(versions)));
    }
  } else {
    for (const m of modelNames) models.set(m, new Map([['1', m]]));
  }
  return {
    port: flags.port ?? c.port ?? 8080,
    host: flags.host ?? c.host ?? '127.0.0.1',
    tokens: flags.tokens ?? c.auth?.tokens ?? [],
    bodyLimit: c.bodyLimit ?? 1024 * 1024,
    maxInFlight: c.maxInFlight ?? 4096,
    deadlineMs: flags.deadlineMs ?? c.deadlineMs ?? 1000,
    priority: c.priority ?? 10,
    drainTimeoutMs: c.drainTimeoutMs ?? 10_000,
    models,
    mode: c.mode ?? 'direct',
  };
}

/** Orders version labels: numerically when both are numbers, else as text. */
export function compareVersions(a: string, b: string): number {
  const x = Number(a);
  const y = Number(b);
  if (Number.isFinite(x) && Number.isFinite(y) && a.trim() !== '' && b.trim() !== '') return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}
