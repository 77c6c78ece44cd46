import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeMlp } from '../../scripts/build-models.js';
import type { TopologyDefinition } from '../../src/topology/schema.js';

/** A real 2-feature, 2-output ONNX MLP (distance, delay → two probabilities) written into `dir`. */
export function writeFlightModel(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'flight-mlp.onnx');
  writeMlp(path, { inputs: 2, hidden: 4, outputs: 2, seed: 11 });
  return path;
}

/**
 * Avro topic in → score → Avro topic out, with JSON dead letters. `outputs` 1 is the first
 * model release (one score); 2 is the upgrade that adds an output.
 */
export function scoringTopology(o: {
  name: string; model: string; input: string; output: string; outputs: 1 | 2;
  sourceAvro?: Record<string, unknown>; sinkAvro?: Record<string, unknown>; registry?: { url: string; autoRegister?: boolean };
}): TopologyDefinition {
  const outputs: Record<string, string> = o.outputs === 1 ? { p_delay: 'score[0]' } : { p_delay: 'score[0]', p_cancel: 'score[1]' };
  return {
    name: o.name,
    ...(o.registry ? { connection: { schemaRegistry: o.registry } } : {}),
    models: { flight: { path: o.model, workers: 1 } },
    sources: { flights: { type: 'topic', topic: o.input, format: 'avro', ...(o.sourceAvro ? { avro: o.sourceAvro } : {}) } },
    pipeline: [
      { score: { model: 'flight', features: ['distance', 'delay'], outputs } },
      { map: { set: { model: `'flight-mlp'`, model_version: `'v${o.outputs}'` } } },
      { sink: 'scored' },
    ],
    sinks: {
      scored: { type: 'topic', topic: o.output, format: 'avro', ...(o.sinkAvro ? { avro: o.sinkAvro } : {}) },
      dlq: { type: 'topic', topic: `${o.output}-dlq` },
    },
    deadLetter: 'dlq',
  } as TopologyDefinition;
}
