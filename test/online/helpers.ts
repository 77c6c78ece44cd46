/** Shared bits for the online tests: topologies over the test models, a service per test. */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { createMetrics, type Metrics } from '../../src/metrics/registry.js';
import type { OnlineFlags } from '../../src/online/config.js';
import { createOnlineService, type OnlineService, type OnlineServiceOptions } from '../../src/online/service.js';
import { asLoaded } from '../../src/runtime/job.js';
import type { LoadedTopology } from '../../src/topology/load.js';
import type { TopologyDefinition } from '../../src/topology/schema.js';
import { writeModel } from '../../scripts/onnx/proto.js';
import { tmpDir, writeOddModel } from '../model/helpers.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const SMALL_MLP = join(ROOT, 'models/small-mlp.onnx');
export const WIDE_MLP = join(ROOT, 'models/wide-mlp.onnx');
export const FLIGHT_MODEL = join(ROOT, 'examples/flight-delay/model/flight-delay.onnx');
export const FEATURES = ['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7'];

/** The odd model (int64, bool and float outputs), written once per process. */
let odd: string | undefined;
export function oddModel(): string {
  if (!odd) {
    odd = join(tmpDir(), 'odd.onnx');
    writeOddModel(odd);
  }
  return odd;
}

/** x [N,2] float → d = double(x) FP64 [N,2], i = int32(x) INT32 [N,2]: the other output datatypes. */
let casts: string | undefined;
export function castModel(): string {
  if (!casts) {
    casts = join(tmpDir(), 'casts.onnx');
    writeModel(casts, {
      name: 'casts',
      inputs: [{ name: 'x', type: 'float', dims: ['N', 2] }],
      outputs: [{ name: 'd', type: 'double', dims: ['N', 2] }, { name: 'i', type: 'int32', dims: ['N', 2] }],
      nodes: [
        { op: 'Cast', inputs: ['x'], outputs: ['d'], attrs: { to: 11 } },
        { op: 'Cast', inputs: ['x'], outputs: ['i'], attrs: { to: 6 } },
      ],
      initializers: [],
    });
  }
  return casts;
}

/**
 * A topology: x0..x7 → f0..f7 (f_i = x_i * 1) → small MLP → route risk > 0.5 to alerts,
 * else scored. Models: risk (small MLP, versions 1 and 2 of "risk": v2 is the same file),
 * odd. `online` merges into the online section.
 */
export function smallTopology(online: Record<string, unknown> = {}, extra: Partial<TopologyDefinition> = {}): LoadedTopology {
  const def = {
    name: 'small',
    models: { risk: { path: SMALL_MLP, workers: 1, maxQueueDelayMs: 1 }, 'risk-v2': { path: SMALL_MLP, workers: 1, maxQueueDelayMs: 1 }, odd: { path: oddModel(), workers: 1 }, casts: { path: castModel(), workers: 1 } },
    sources: { in: { type: 'topic', topic: 'in' } },
    pipeline: [
      { map: { id: 'features', set: Object.fromEntries(FEATURES.map((f, i) => [f, `x${i} * 1`])) } },
      { filter: { id: 'positive-x0', where: 'x0 > -100' } },
      { score: { id: 'risk-model', model: 'risk', features: FEATURES, outputs: { risk: 'score' } } },
      { route: { id: 'router', routes: [{ when: 'risk > 0.5', to: 'alerts' }], default: 'scored' } },
    ],
    sinks: { scored: { type: 'stdout' }, alerts: { type: 'stdout' }, dlq: { type: 'stdout' } },
    deadLetter: 'dlq',
    online: { port: 0, models: { risk: { versions: { '1': 'risk', '2': 'risk-v2' } }, odd: { versions: { '1': 'odd' } }, casts: { versions: { '1': 'casts' } } }, ...online },
    ...extra,
  } as unknown as TopologyDefinition;
  return asLoaded(def, ROOT);
}

export async function startService(loaded: LoadedTopology, flags: OnlineFlags = {}, o: Partial<OnlineServiceOptions> = {}): Promise<OnlineService & { metrics: Metrics }> {
  const metrics = o.metrics ?? createMetrics();
  const s = await createOnlineService(loaded, { metrics, flags, ...o });
  return Object.assign(s, { metrics });
}

/** One row of x0..x7 values. */
export function record(seed: number): Record<string, number> {
  return Object.fromEntries(FEATURES.map((_, i) => [`x${i}`, Math.sin(seed * 7 + i) * 2]));
}
