import type { EmbeddedLog } from '../../connectors/embedded/index.js';
import { SluiceError } from '../core/errors.js';
import { createRepartitionSink, type Sink } from '../sinks/index.js';
import type { RepartitionHop, Stage } from '../topology/plan.js';
import { openRepartitionSource, type UpstreamGate } from './sources/repartition.js';
import type { SourcePartition } from './sources/source.js';

/**
 * Where a job's repartition hops live. The job plans stages (topology/plan.ts) and wires
 * their tasks; a transport owns the hop topics: creating them, the internal sink that
 * writes one inside a stage-1 task's checkpoint, and the partitions stage 2 reads. The
 * embedded log is the one transport today; a Kafka one implements the same three calls
 * (a topic of the same name, the transactional producer as sink, a consumer in the job's
 * group as source).
 */
export interface HopTransport {
  /** Creates each hop's topic, or checks the one a previous run left; `fresh` deletes it first. */
  prepare(stages: readonly Stage[], fresh: boolean): Promise<void>;
  /** The internal sink that writes a hop, partitioned by key, in the writing task's checkpoint. */
  sink(hop: RepartitionHop): Sink;
  /** The partitions of a hop for stage 2, at the positions committed under `group`; bounded by `gate`. */
  open(hop: RepartitionHop, group: string, gate: UpstreamGate): Promise<SourcePartition[]>;
}

/** The most partitions of any one source (a hop gets as many by default). */
export function maxSourcePartitions(parts: readonly SourcePartition[]): number {
  const bySource = new Map<string, number>();
  for (const p of parts) bySource.set(p.source, Math.max(bySource.get(p.source) ?? 0, p.partition + 1));
  return Math.max(1, ...bySource.values());
}

/** Hops as internal topics of the embedded log. */
export function embeddedHops(log: EmbeddedLog): HopTransport {
  return {
    prepare: (stages, fresh) => prepareEmbeddedHops(log, stages, fresh),
    sink: (hop) => createRepartitionSink(hop.sink, log, hop.topic),
    open: (hop, group, gate) => openRepartitionSource({ log, topic: hop.topic, group, gate }),
  };
}

/**
 * `--fresh` deletes a hop topic (its records and the positions read on it), since the
 * stages before it start over too. A topic left by an earlier run with another partition
 * count cannot be reused: keys would move between tasks while their state stays behind.
 */
async function prepareEmbeddedHops(log: EmbeddedLog, stages: readonly Stage[], fresh: boolean): Promise<void> {
  for (const s of stages) {
    const hop = s.output;
    if (!hop) continue;
    const existing = log.topic(hop.topic);
    if (existing && fresh) await log.deleteTopic(hop.topic);
    else if (existing && existing.partitions !== hop.partitions) throw partitionsChanged(hop, existing.partitions);
    await log.createTopic(hop.topic, hop.partitions);
  }
}

export function partitionsChanged(hop: RepartitionHop, had: number): SluiceError {
  return new SluiceError('INVALID_TOPOLOGY', `keyBy "${hop.keyBy}": its repartition topic "${hop.topic}" has ${had} partitions from an earlier run, but this run needs ${hop.partitions} (the input's partitions or the keyBy's \`partitions\` changed); keyed state would be split wrongly. Rerun with --fresh to start the job's state over, or keep the old partition count (keyBy partitions: ${had})`);
}

/**
 * The test harness runs without an embedded log, so it has nowhere to put a hop: keyed
 * state after keyBy over several inputs is refused there, as it was before hops existed.
 */
export function refuseHopsWithoutLog(stages: readonly Stage[], inputTasks: number): void {
  const hop = stages[0]?.output;
  if (!hop) return;
  throw new SluiceError('INVALID_TOPOLOGY', `keyBy "${hop.keyBy}": keyed state after it needs each key in one task; the ${inputTasks} inputs would go through the repartition topic "${hop.topic}", which needs the embedded log (the in-memory test harness has none): give the harness one input, or run the job on a data directory`);
}

/**
 * On Kafka, hops are group-consumer stages (kafka-hops.ts) fed by Kafka sources. Inputs that
 * are not Kafka topics (files) would write a Kafka hop outside any consumer group's
 * transaction, so that combination is refused at start, with what to do.
 */
export function refuseHopsOnKafka(stages: readonly Stage[]): void {
  const hop = stages[0]?.output;
  if (!hop) return;
  throw new SluiceError('INVALID_TOPOLOGY', `keyBy "${hop.keyBy}": keyed state after it needs a repartition topic ("${hop.topic}"), and on Kafka only Kafka topic sources may feed one; read the files on the embedded log (no Kafka connection), or produce them to a Kafka topic first`);
}
