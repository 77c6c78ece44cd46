import type { KafkaTopicAdmin } from '../../connectors/kafka/index.js';
import { SluiceError } from '../core/errors.js';
import { createKafkaTopicSink, type Sink } from '../sinks/index.js';
import { STATEFUL_KINDS, type RepartitionHop, type Stage } from '../topology/plan.js';
import { changelogTopic } from './kafka-commit.js';
import { withOrigins } from './sources/repartition.js';
import type { SourcePartition } from './sources/source.js';
import { partitionsChanged } from './stages.js';
import { UPSTREAM_HEADER } from '../sinks/index.js';

/**
 * Repartition hops on Kafka. A hop is a Kafka topic of the same name; stage 1's tasks write
 * it with their checkpoint (inside the task's transaction under exactlyOnce, with the input
 * offsets), and stage 2 is a second set of group-consumer tasks reading it, each checkpoint
 * again one transaction (outputs, changelogs, offsets on the hop). Stage 2 has a consumer
 * group of its own (`<group>.<hop topic>`): kafkajs's assigner hands every subscribed topic to
 * every member, so members that read different topics must not share a group.
 */

/** The consumer group stage 2 reads a hop with. */
export function hopGroup(group: string, hop: RepartitionHop): string {
  return `${group}.${hop.topic}`;
}

/**
 * Creates each hop topic (or checks the one an earlier run left) and the changelog topics of
 * the stateful steps after it, which need a partition per hop partition. A bounded run
 * (backfill, --until-idle) cannot tell on Kafka when stage 1 has written its last record to
 * a hop that other instances may also write: it is refused with what to do. (--fresh has
 * emptied the hop topics and deleted their groups before this; see kafka-fresh.ts.)
 */
export async function prepareKafkaHops(admin: KafkaTopicAdmin, topology: string, stages: readonly Stage[], o: { bounded: boolean; fresh: boolean }): Promise<void> {
  const first = stages[0]?.output;
  if (!first) return;
  if (o.bounded) throw new SluiceError('INVALID_TOPOLOGY', `keyBy "${first.keyBy}" repartitions through the Kafka topic "${first.topic}", and on Kafka a job with a repartition hop runs live only (its end cannot be known while other instances write the hop): run it without --until-idle or bounded sources and stop it with SIGTERM, or run the backfill on the embedded log`);
  for (const s of stages) {
    const hop = s.output;
    if (hop) {
      const have = await admin.partitionCount(hop.topic);
      if (have === undefined) await admin.ensureTopic(hop.topic, { partitions: hop.partitions, what: `repartition topic of keyBy "${hop.keyBy}"` });
      // --fresh keeps a hop topic (emptied, see kafka-fresh.ts): a changed partition count needs the topic deleted by hand.
      else if (have !== hop.partitions) throw o.fresh ? new SluiceError('INVALID_TOPOLOGY', `keyBy "${hop.keyBy}": the Kafka repartition topic "${hop.topic}" has ${have} partitions but this run needs ${hop.partitions}; --fresh empties it but cannot change its partitions: delete it (kafka-topics --delete --topic ${hop.topic}) and rerun with --fresh`) : partitionsChanged(hop, have);
    }
    if (!s.input) continue;
    for (const step of s.steps) {
      if (!STATEFUL_KINDS.has(step.kind)) continue;
      const topic = changelogTopic(topology, step.id);
      const have = await admin.partitionCount(topic);
      if (have === undefined) await admin.ensureTopic(topic, { partitions: s.input.partitions, compacted: true, what: 'changelog topic' });
      else if (have < s.input.partitions) throw new SluiceError('INVALID_TOPOLOGY', `changelog topic "${topic}" of step "${step.id}" has ${have} partition(s) but the repartition topic "${s.input.topic}" before it has ${s.input.partitions}; add partitions to it (kafka-topics --alter) so partition numbers match`);
    }
  }
}

/** The internal sink of a hop on Kafka: the Kafka topic sink, with each record's upstream path as a header (see createRepartitionSink). */
export function kafkaHopSink(hop: RepartitionHop): Sink {
  const inner = createKafkaTopicSink(hop.sink, hop.topic, {});
  return {
    name: hop.sink,
    stage(records, tx) {
      return inner.stage(records.map((r) => ({ ...r, headers: { ...r.headers, [UPSTREAM_HEADER]: r.origin === undefined ? tx.task : `${r.origin}>${tx.task}` } })), tx);
    },
    close: () => inner.close(),
  };
}

/** A hop partition as stage 2 reads it: the upstream header becomes the record's origin. */
export function hopReader(part: SourcePartition): SourcePartition {
  return withOrigins(part);
}
