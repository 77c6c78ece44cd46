import type { Kafka } from 'kafkajs';
import { KafkaConnectError, KafkaTopicAdmin, createKafkaClient, errorText, type KafkaConnection } from '../../connectors/kafka/index.js';
import { SluiceError } from '../core/errors.js';
import { STATEFUL_KINDS } from '../topology/plan.js';
import type { TopologyDefinition, TopicSourceConfig } from '../topology/schema.js';
import { changelogTopic } from './kafka-commit.js';
import type { KafkaSourceSpec } from './kafka-tasks.js';


/** The ids of the pipeline's stateful steps, as the job names them (`id`, else `<kind>-<index>`). */
export function statefulStepIds(def: TopologyDefinition): string[] {
  const out: string[] = [];
  def.pipeline.forEach((step, i) => {
    const [kind, config] = Object.entries(step)[0] as [string, unknown];
    if (STATEFUL_KINDS.has(kind)) out.push((config as { id?: string } | null)?.id ?? `${kind}-${i}`);
  });
  return out;
}

export interface KafkaSetup {
  kafka: Kafka;
  admin: KafkaTopicAdmin;
  sources: KafkaSourceSpec[];
  statefulSteps: string[];
}

/** Turns connector errors into sluice errors a user can act on. */
export function kafkaError(err: unknown): SluiceError {
  if (err instanceof SluiceError) return err;
  if (err instanceof KafkaConnectError) return new SluiceError(err.kind === 'missing-topic' ? 'NOT_FOUND' : err.kind === 'denied' ? 'KAFKA_FORBIDDEN' : 'KAFKA_UNAVAILABLE', err.message, {}, { cause: err });
  return new SluiceError('KAFKA_UNAVAILABLE', `Kafka: ${errorText(err)}`, {}, { cause: err });
}

/**
 * Connects to the cluster (a clear error when it cannot be reached or refuses the
 * credentials), makes sure every topic the topology reads or writes exists (created with the
 * profile's defaults when allowed, else an error naming it), and the changelog topics of its
 * stateful steps (compacted, as many partitions as the widest input).
 */
export async function openKafka(def: TopologyDefinition, conn: KafkaConnection, sourceNames: string[], sinkNames: string[]): Promise<KafkaSetup> {
  const kafka = createKafkaClient(conn);
  const admin = new KafkaTopicAdmin(kafka, conn);
  try {
    await admin.connect();
    const sources: KafkaSourceSpec[] = [];
    for (const name of sourceNames) {
      const config = def.sources[name] as TopicSourceConfig;
      const opts = config.partitions !== undefined ? { partitions: config.partitions } : {};
      const partitions = await admin.ensureTopic(config.topic, { ...opts, what: `source "${name}" topic` });
      sources.push({ name, config, partitions });
    }
    for (const name of sinkNames) {
      const cfg = def.sinks[name]!;
      if (cfg.type !== 'topic') continue;
      await admin.ensureTopic(cfg.topic, { ...(cfg.partitions !== undefined ? { partitions: cfg.partitions } : {}), what: `sink "${name}" topic` });
    }
    const statefulSteps = statefulStepIds(def);
    const widest = Math.max(1, ...sources.map((s) => s.partitions));
    for (const step of statefulSteps) {
      const topic = changelogTopic(def.name, step);
      const have = await admin.partitionCount(topic);
      if (have === undefined) {
        await admin.ensureTopic(topic, { partitions: widest, compacted: true, what: 'changelog topic' }).catch(async (err: unknown) => {
          if (!(err instanceof KafkaConnectError && err.kind === 'missing-topic')) throw err;
          throw new SluiceError('NOT_FOUND', `changelog topic "${topic}" of step "${step}" does not exist and connection.kafka.topics.create is false; create it compacted with ${widest} partition(s): sluice topics create ${topic} --partitions ${widest}`);
        });
      } else if (have < widest) {
        throw new SluiceError('INVALID_TOPOLOGY', `changelog topic "${topic}" has ${have} partition(s) but the input has ${widest}; add partitions to it (kafka-topics --alter) so partition numbers match`);
      }
    }
    return { kafka, admin, sources, statefulSteps };
  } catch (err) {
    await admin.disconnect();
    throw kafkaError(err);
  }
}
