import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { IncomingRecord, OutgoingRecord, TopicDescription } from '../../connectors/kafka/topic-ops.js';
import { SluiceError } from '../core/errors.js';
import { intOption, parse, requirePositional } from './args.js';
import { openTopicBackend, type TopicBackend } from './topics-backend.js';
import { avroConsume, avroProduce, type AvroCliOptions } from './topics-avro.js';

const USAGE =
  'sluice topics list | create NAME [--partitions N] | describe NAME [--json] | produce NAME [--file F] [--key FIELD] [--format json|avro] | consume NAME [--from-beginning|--offset N] [--max N] [--values] [--format json|avro]  (all take --data-dir DIR or --connection FILE; avro takes --schema F.avsc, --subject S, --registry URL)';
const SUBCOMMANDS = ['list', 'create', 'describe', 'produce', 'consume'];

/** `sluice topics …` on the embedded log, or on Kafka when `--connection FILE` or SLUICE_KAFKA_BROKERS names brokers. */
export async function topicsCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const args = parse(`topics ${sub ?? ''}`.trim(), rest, {
    'data-dir': { type: 'string' },
    connection: { type: 'string' },
    partitions: { type: 'string' },
    file: { type: 'string' },
    key: { type: 'string' },
    max: { type: 'string' },
    offset: { type: 'string' },
    'from-beginning': { type: 'boolean' },
    values: { type: 'boolean' },
    json: { type: 'boolean' },
    format: { type: 'string' },
    schema: { type: 'string' },
    subject: { type: 'string' },
    registry: { type: 'string' },
  });
  if (!sub || !SUBCOMMANDS.includes(sub)) throw new SluiceError('INVALID_INPUT', `usage: ${USAGE}`);
  const format = args.str('format') ?? 'json';
  if (format !== 'json' && format !== 'avro') throw new SluiceError('INVALID_INPUT', `sluice topics: --format must be json or avro; got "${format}"`);
  const avro: AvroCliOptions | undefined = format === 'avro' ? { schema: args.str('schema'), subject: args.str('subject'), registry: args.str('registry') ?? process.env.SLUICE_SCHEMA_REGISTRY_URL } : undefined;
  // Flags are checked before connecting, so a typo never waits on a broker.
  const partitions = intOption('topics create', 'partitions', args.str('partitions'));
  if (partitions === 0) throw new SluiceError('INVALID_INPUT', 'sluice topics create: --partitions must be at least 1');
  const max = intOption('topics consume', 'max', args.str('max')) ?? Infinity;
  const offset = intOption('topics consume', 'offset', args.str('offset')) ?? 0;
  const name = sub === 'list' ? '' : requirePositional(`topics ${sub}`, args.positionals, 'the topic NAME');

  const backend = await openTopicBackend({ connectionFile: args.str('connection'), dataDir: args.str('data-dir') });
  try {
    switch (sub) {
      case 'list':
        for (const t of await backend.list()) process.stdout.write(`${t.name}\tpartitions=${t.partitions}\trecords=${t.records}\n`);
        return 0;
      case 'create': {
        const t = await backend.create(name, partitions);
        process.stderr.write(`topic ${t.name} ${t.created ? 'created with' : 'already exists with'} ${t.partitions} partition(s) on ${backend.where}\n`);
        return 0;
      }
      case 'describe': {
        const d = await backend.describe(name);
        process.stdout.write(args.flag('json') ? JSON.stringify(d) + '\n' : formatDescription(d, backend.where));
        return 0;
      }
      case 'produce':
        if (avro) return await avroProduce(avroLog(backend), name, args.str('file'), args.str('key'), avro);
        return await produce(backend, name, args.str('file'), args.str('key'));
      case 'consume': {
        const valuesOnly = args.flag('values');
        if (avro) return await avroConsume(avroLog(backend), name, { offset, max, valuesOnly }, avro);
        await backend.consume(name, { offset, max }, (recs) => process.stdout.write(formatRecords(recs, valuesOnly)));
        return 0;
      }
    }
  } finally {
    await backend.close();
  }
  return 0;
}

function avroLog(backend: TopicBackend) {
  if (!backend.embeddedLog) throw new SluiceError('INVALID_INPUT', `sluice topics --format avro works on the embedded log only for now; ${backend.where} is Kafka (use a Confluent Avro client there)`);
  return backend.embeddedLog;
}

/** Partitions with their offsets, then one line per group and partition with its committed offset and lag. */
export function formatDescription(d: TopicDescription, where: string): string {
  const records = d.partitions.reduce((sum, p) => sum + p.end - p.start, 0);
  let out = `topic ${d.name} on ${where}: ${d.partitions.length} partition(s), ${records} record(s)\n`;
  out += 'partition\tstart\tend\n';
  for (const p of d.partitions) out += `${p.partition}\t${p.start}\t${p.end}\n`;
  if (!d.groups.length) return out + 'no consumer group has committed offsets on this topic\n';
  out += 'group\tpartition\tcommitted\tend\tlag\n';
  for (const g of d.groups) {
    for (const p of g.partitions) {
      const end = d.partitions.find((x) => x.partition === p.partition)?.end ?? '-';
      out += `${g.group}\t${p.partition}\t${p.committed ?? '-'}\t${end}\t${p.lag ?? '-'}\n`;
    }
    out += `${g.group}\ttotal lag ${g.totalLag}\n`;
  }
  return out;
}

function formatRecords(recs: IncomingRecord[], valuesOnly: boolean): string {
  let text = '';
  for (const r of recs) text += valuesOnly ? r.value + '\n' : JSON.stringify({ partition: r.partition, offset: r.offset, key: r.key, timestamp: r.timestamp, value: tryParse(r.value) }) + '\n';
  return text;
}

/** Appends JSON lines (one record value per line) from a file or stdin, keyed by a field if asked. */
async function produce(backend: TopicBackend, topic: string, file: string | undefined, keyField: string | undefined): Promise<number> {
  await backend.ensureTopic(topic);
  const input = file ? createReadStream(file, 'utf8') : process.stdin;
  const lines = createInterface({ input, crlfDelay: Infinity });
  let batch: OutgoingRecord[] = [];
  let total = 0;
  let unparsable = 0;
  for await (const line of lines) {
    if (!line.trim()) continue;
    let key: string | null = null;
    if (keyField) {
      try {
        const v = (JSON.parse(line) as Record<string, unknown>)[keyField];
        key = v === undefined || v === null ? null : String(v);
      } catch {
        unparsable++;
      }
    }
    batch.push({ key, value: line, timestamp: Date.now() });
    if (batch.length >= 1000) {
      await backend.produce(topic, batch);
      total += batch.length;
      batch = [];
    }
  }
  await backend.produce(topic, batch);
  total += batch.length;
  process.stderr.write(`produced ${total} record(s) to ${topic}${unparsable ? ` (${unparsable} line(s) are not JSON objects; they are stored as sent and a topology will dead-letter them)` : ''}\n`);
  return 0;
}

function tryParse(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}
