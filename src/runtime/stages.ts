import type { EmbeddedLog } from '../../connectors/embedded/index.js';
import { SluiceError } from '../core/errors.js';
import type { Stage } from '../topology/plan.js';
import type { SourcePartition } from './sources/source.js';

/** The most partitions of any one source (a hop gets as many by default). */
export function maxSourcePartitions(parts: readonly SourcePartition[]): number {
  const bySource = new Map<string, number>();
  for (const p of parts) bySource.set(p.source, Math.max(bySource.get(p.source) ?? 0, p.partition + 1));
  return Math.max(1, ...bySource.values());
}

/**
 * Creates each hop's internal topic. `--fresh` deletes it first (its records and the
 * positions read on it), since the stages before it start over too. A topic left by an
 * earlier run with another partition count cannot be reused: keys would move between
 * tasks while their state stays behind.
 */
export async function prepareHops(log: EmbeddedLog, stages: readonly Stage[], fresh: boolean): Promise<void> {
  for (const s of stages) {
    const hop = s.output;
    if (!hop) continue;
    const existing = log.topic(hop.topic);
    if (existing && fresh) await log.deleteTopic(hop.topic);
    else if (existing && existing.partitions !== hop.partitions) {
      throw new SluiceError('INVALID_TOPOLOGY', `keyBy "${hop.keyBy}": its repartition topic "${hop.topic}" has ${existing.partitions} partitions from an earlier run, but this run needs ${hop.partitions} (the input's partitions or the keyBy's \`partitions\` changed); keyed state would be split wrongly. Rerun with --fresh to start the job's state over, or keep the old partition count (keyBy partitions: ${existing.partitions})`);
    }
    await log.createTopic(hop.topic, hop.partitions);
  }
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
