// Where `sluice topics` reads and writes: the embedded log or Kafka, with one set of operations
// so that every subcommand behaves the same on both.
import { KafkaTopicOps, groupLag, type IncomingRecord, type OutgoingRecord, type TopicDescription, type TopicSummary } from '../../connectors/kafka/topic-ops.js';
import { EmbeddedLog } from '../../connectors/embedded/index.js';
import { loadConnectionFile, resolveConnection, describeConnection } from '../runtime/connection.js';
import { resolve } from 'node:path';

export interface TopicBackend {
  /** Where the topics live, for messages. */
  readonly where: string;
  list(): Promise<TopicSummary[]>;
  create(name: string, partitions?: number): Promise<{ name: string; partitions: number; created: boolean }>;
  describe(name: string): Promise<TopicDescription>;
  /** Creates a missing topic (with the backend's defaults) before a produce. */
  ensureTopic(name: string): Promise<void>;
  produce(name: string, records: OutgoingRecord[]): Promise<void>;
  /** Every partition from `offset` to its end as of the call, at most `max` records; returns the count. */
  consume(name: string, o: { offset: number; max: number }, onRecords: (records: IncomingRecord[]) => void): Promise<number>;
  close(): Promise<void>;
  /** The embedded log, when that is where the topics live (`--format avro` works there only, for now). */
  readonly embeddedLog?: EmbeddedLog;
}

/** `--connection FILE` > SLUICE_KAFKA_BROKERS (and the other SLUICE_KAFKA_* variables) > the embedded log in `--data-dir`. */
export async function openTopicBackend(opts: { connectionFile: string | undefined; dataDir: string | undefined }): Promise<TopicBackend> {
  const file = opts.connectionFile ? loadConnectionFile(opts.connectionFile) : undefined;
  const conn = resolveConnection({ name: 'topics' }, process.cwd(), { file });
  if (conn.kind === 'kafka') {
    const admin = await KafkaTopicOps.connect(conn.kafka, conn.kafka.clientId);
    return Object.assign(admin, { where: describeConnection(conn) });
  }
  const dir = resolve(opts.dataDir ?? conn.dir ?? process.env.SLUICE_DATA_DIR ?? '.sluice');
  return new EmbeddedTopics(await EmbeddedLog.open(dir));
}

/** The embedded log behind the TopicBackend operations. */
class EmbeddedTopics implements TopicBackend {
  readonly where: string;
  readonly embeddedLog: EmbeddedLog;
  constructor(private readonly log: EmbeddedLog) {
    this.where = `the embedded log in ${log.dir}`;
    this.embeddedLog = log;
  }

  async list(): Promise<TopicSummary[]> {
    return this.log.listTopics().map((t) => {
      let records = 0;
      for (let p = 0; p < t.partitions; p++) records += this.log.endOffset(t.name, p) - this.log.startOffset(t.name, p);
      return { name: t.name, partitions: t.partitions, records };
    });
  }

  async create(name: string, partitions?: number): Promise<{ name: string; partitions: number; created: boolean }> {
    const existed = this.log.topic(name) !== undefined;
    const t = await this.log.createTopic(name, partitions ?? 1);
    return { name: t.name, partitions: t.partitions, created: !existed };
  }

  async describe(name: string): Promise<TopicDescription> {
    const info = this.log.requireTopic(name);
    const partitions = Array.from({ length: info.partitions }, (_, p) => ({ partition: p, start: this.log.startOffset(name, p), end: this.log.endOffset(name, p) }));
    const groups = [...(await this.log.groupOffsets(name))].sort(([a], [b]) => a.localeCompare(b)).map(([group, committed]) => groupLag(group, partitions, committed));
    return { name, partitions, groups };
  }

  async ensureTopic(name: string): Promise<void> {
    if (!this.log.topic(name)) await this.log.createTopic(name, 1);
  }

  async produce(name: string, records: OutgoingRecord[]): Promise<void> {
    if (records.length) await this.log.produce(name, records);
  }

  async consume(name: string, o: { offset: number; max: number }, onRecords: (records: IncomingRecord[]) => void): Promise<number> {
    const info = this.log.requireTopic(name);
    let read = 0;
    for (let p = 0; p < info.partitions && read < o.max; p++) {
      let pos = Math.max(o.offset, this.log.startOffset(name, p));
      const end = this.log.endOffset(name, p);
      while (pos < end && read < o.max) {
        const recs = await this.log.read(name, p, pos, Math.min(1000, o.max - read, end - pos));
        if (!recs.length) break;
        // Bytes (Avro topics) are shown as base64; `--format avro` decodes them instead.
        onRecords(recs.map((r) => ({ partition: p, offset: r.offset, key: r.key === null || typeof r.key === 'string' ? r.key : r.key.toString('base64'), timestamp: r.timestamp, value: typeof r.value === 'string' ? r.value : r.value.toString('base64') })));
        read += recs.length;
        pos = recs[recs.length - 1]!.offset + 1;
      }
    }
    return read;
  }

  async close(): Promise<void> {
    await this.log.close();
  }
}
