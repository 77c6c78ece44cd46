import type { Step } from './schema.js';

/**
 * The planner's answer to "where does each key's state live?". Keyed state is owned by
 * the task that reads a key. A `keyBy` changes the key without moving the record, so
 * when several tasks feed a stateful step, one key would be counted in several places.
 * The planner then cuts the pipeline after that keyBy: the steps before it (stage 1)
 * write their records, partitioned by the new key, to an internal repartition topic,
 * and the steps after it (stage 2) read that topic, one task per partition. Both stages
 * are tasks of one job and checkpoint on their own (Kafka Streams' repartition topics,
 * Flink's keyBy exchange, done with a topic so each hop is exactly-once by itself).
 */

/** Step kinds that keep keyed state. */
export const STATEFUL_KINDS: ReadonlySet<string> = new Set(['aggregate', 'window']);

export interface PlannedStep {
  /** Index in the topology's pipeline (the step's default id uses it). */
  index: number;
  kind: string;
  config: unknown;
  id: string;
}

export interface RepartitionHop {
  /** Id of the keyBy step whose key the records are partitioned by. */
  keyBy: string;
  /** The internal topic: `<topology>-<keyBy id>-repartition`. */
  topic: string;
  /** The name of the internal sink that writes the topic (not a user sink). */
  sink: string;
  /** Partitions of the topic: the keyBy's `partitions`, else the most partitions of its input. */
  partitions: number;
}

export interface Stage {
  steps: PlannedStep[];
  /** Every stage but the first reads one hop. */
  input?: RepartitionHop;
  /** Every stage but the last ends by writing a hop (its last step is the hop's internal sink). */
  output?: RepartitionHop;
}

/** A step's id: its `id`, else `<kind>-<index>`. */
export function stepId(step: Step, index: number): string {
  const [kind, config] = Object.entries(step)[0] as [string, unknown];
  const id = (config as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? id : `${kind}-${index}`;
}

export function repartitionTopic(topology: string, keyById: string): string {
  return `${topology}-${keyById}-repartition`;
}

/**
 * The keyBy steps whose key a later stateful step uses (a stateful step before the next
 * keyBy). Only these may need a hop; a keyBy that only changes what a sink partitions by
 * needs none.
 */
export function keyedStatePoints(pipeline: readonly Step[]): number[] {
  const kinds = pipeline.map((s) => Object.keys(s)[0]!);
  const points: number[] = [];
  kinds.forEach((k, i) => {
    if (k !== 'keyBy') return;
    for (let j = i + 1; j < kinds.length && kinds[j] !== 'keyBy'; j++) {
      if (STATEFUL_KINDS.has(kinds[j]!)) {
        points.push(i);
        return;
      }
    }
  });
  return points;
}

/**
 * Splits the pipeline into stages. `inputTasks`: tasks reading the sources (one per
 * source partition); `inputPartitions`: the most partitions of any one source. A keyed
 * state point gets a hop when more than one task feeds it, or when its keyBy sets
 * `partitions` (to spread the stateful steps over more tasks than the input has). With
 * one task there is nothing to move: each key is in that task already.
 */
export function planStages(topology: string, pipeline: readonly Step[], inputTasks: number, inputPartitions: number): Stage[] {
  const stages: Stage[] = [];
  let steps: PlannedStep[] = [];
  let input: RepartitionHop | undefined;
  let tasks = inputTasks;
  let partitions = inputPartitions;
  const points = new Set(keyedStatePoints(pipeline));
  pipeline.forEach((step, index) => {
    const [kind, config] = Object.entries(step)[0] as [string, unknown];
    const id = stepId(step, index);
    steps.push({ index, kind, config, id });
    if (!points.has(index)) return;
    const asked = (config as { partitions?: number }).partitions;
    if (tasks <= 1 && asked === undefined) return;
    const topic = repartitionTopic(topology, id);
    const hop: RepartitionHop = { keyBy: id, topic, sink: `repartition:${topic}`, partitions: asked ?? partitions };
    steps.push({ index, kind: 'sink', config: hop.sink, id: `${id}.repartition` });
    stages.push(input ? { steps, input, output: hop } : { steps, output: hop });
    steps = [];
    input = hop;
    tasks = partitions = hop.partitions;
  });
  stages.push(input ? { steps, input } : { steps });
  return stages;
}
