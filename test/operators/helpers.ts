import { topology, type TopologyBuilder } from '../../src/topology/builder.js';

/** A one-source topology with an `out` and a `dlq` sink; add steps, then `.to('out')`. */
export function pipeline(name = 't'): TopologyBuilder {
  return topology(name).source('in', { type: 'topic', topic: 'in' }).sink('out', { type: 'stdout' }).sink('dlq', { type: 'stdout' }).deadLetter('dlq');
}
