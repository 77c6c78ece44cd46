import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { EmbeddedLog } from '../../connectors/embedded/index.js';
import { SluiceError } from '../core/errors.js';
import type { LogRecord } from '../core/record.js';
import { DecodeFailure } from '../../connectors/serde/index.js';
import { intOption, parse, requirePositional } from './args.js';
import { cliAvroDecoder, cliAvroEncoder, type AvroCliOptions } from './topics-avro.js';
import { resolve } from 'node:path';

const USAGE = 'sluice topics list | create NAME [--partitions N] | produce NAME [--file F] [--key FIELD] [--format json|avro [--schema F.avsc] [--subject S] [--registry URL]] | consume NAME [--from-beginning|--offset N] [--max N] [--values] [--format json|avro [--schema F.avsc] [--subject S] [--registry URL]]';

export async function topicsCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const args = parse(`topics ${sub ?? ''}`.trim(), rest, {
    'data-dir': { type: 'string' },
    partitions: { type: 'string' },
    file: { type: 'string' },
    key: { type: 'string' },
    max: { type: 'string' },
    offset: { type: 'string' },
    'from-beginning': { type: 'boolean' },
    values: { type: 'boolean' },
    format: { type: 'string' },
    schema: { type: 'string' },
    subject: { type: 'string' },
    registry: { type: 'string' },
  });
  const format = args.str('format') ?? 'json';
  if (format !== 'json' && format !== 'avro') throw new SluiceError('INVALID_INPUT', `sluice topics: --format must be json or avro; got "${format}"`);
  const avro: AvroCliOptions | undefined = format === 'avro' ? { schema: args.str('schema'), subject: args.str('subject'), registry: args.str('registry') ?? process.env.SLUICE_SCHEMA_REGISTRY_URL } : undefined;
  const dir = resolve(args.str('data-dir') ?? process.env.SLUICE_DATA_DIR ?? '.sluice');
  if (!sub || !['list', 'create', 'produce', 'consume'].includes(sub)) throw new SluiceError('INVALID_INPUT', `usage: ${USAGE}`);
  const log = await EmbeddedLog.open(dir);
  try {
    switch (sub) {
      case 'list':
        for (const t of log.listTopics()) {
          const ends = Array.from({ length: t.partitions }, (_, p) => log.endOffset(t.name, p));
          process.stdout.write(`${t.name}\tpartitions=${t.partitions}\trecords=${ends.reduce((a, b) => a + b, 0)}\n`);
        }
        return 0;
      case 'create': {
        const name = requirePositional('topics create', args.positionals, 'the topic NAME');
        const t = await log.createTopic(name, intOption('topics create', 'partitions', args.str('partitions')) ?? 1);
        process.stderr.write(`topic ${t.name} has ${t.partitions} partition(s) in ${dir}\n`);
        return 0;
      }
      case 'produce':
        return await produce(log, requirePositional('topics produce', args.positionals, 'the topic NAME'), args.str('file'), args.str('key'), avro);
      case 'consume':
        return await consume(log, requirePositional('topics consume', args.positionals, 'the topic NAME'), {
          max: intOption('topics consume', 'max', args.str('max')) ?? Infinity,
          offset: intOption('topics consume', 'offset', args.str('offset')) ?? 0,
          valuesOnly: args.flag('values'),
          avro,
        });
    }
  } finally {
    await log.close();
  }
  return 0;
}

/**
 * Appends JSON lines (one record value per line) from a file or stdin, keyed by a field if
 * asked. With --format avro each line is encoded with the Avro schema (Confluent wire format);
 * a line that is not JSON or does not fit the schema stops the command, naming the line.
 */
async function produce(log: EmbeddedLog, topic: string, file: string | undefined, keyField: string | undefined, avro?: AvroCliOptions): Promise<number> {
  if (!log.topic(topic)) await log.createTopic(topic, 1);
  const enc = avro ? await cliAvroEncoder(log, topic, avro) : undefined;
  try {
    return await produceLines(log, topic, file, keyField, enc?.encoder);
  } finally {
    await enc?.close();
  }
}

async function produceLines(log: EmbeddedLog, topic: string, file: string | undefined, keyField: string | undefined, encoder: { encode(v: unknown): Buffer; schemaId: number | undefined } | undefined): Promise<number> {
  const input = file ? createReadStream(file, 'utf8') : process.stdin;
  const lines = createInterface({ input, crlfDelay: Infinity });
  let batch: LogRecord[] = [];
  let total = 0;
  let lineNo = 0;
  let unparsable = 0;
  for await (const line of lines) {
    lineNo++;
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
    let value: string | Buffer = line;
    if (encoder) {
      try {
        value = encoder.encode(JSON.parse(line));
      } catch (err) {
        throw new SluiceError('INVALID_INPUT', `topics produce --format avro: line ${lineNo}: ${(err as Error).message}`);
      }
    }
    batch.push({ key, value, timestamp: Date.now() });
    if (batch.length >= 1000) {
      await log.produce(topic, batch);
      total += batch.length;
      batch = [];
    }
  }
  if (batch.length) await log.produce(topic, batch);
  total += batch.length;
  process.stderr.write(`produced ${total} record(s) to ${topic}${encoder ? ` as Avro (schema id ${encoder.schemaId})` : ''}${unparsable ? ` (${unparsable} line(s) are not JSON objects; they are stored as sent and a topology will dead-letter them)` : ''}\n`);
  return 0;
}

/** Prints records from every partition, from an offset up to the current end. */
async function consume(log: EmbeddedLog, topic: string, o: { max: number; offset: number; valuesOnly: boolean; avro?: AvroCliOptions | undefined }): Promise<number> {
  const info = log.requireTopic(topic);
  const dec = o.avro ? await cliAvroDecoder(log, o.avro) : undefined;
  try {
    return await consumeAll(log, topic, info.partitions, o, dec);
  } finally {
    await dec?.close();
  }
}

async function consumeAll(log: EmbeddedLog, topic: string, partitions: number, o: { max: number; offset: number; valuesOnly: boolean }, dec: Awaited<ReturnType<typeof cliAvroDecoder>> | undefined): Promise<number> {
  const info = { partitions };
  let printed = 0;
  for (let p = 0; p < info.partitions && printed < o.max; p++) {
    let pos = Math.max(o.offset, log.startOffset(topic, p));
    const end = log.endOffset(topic, p);
    while (pos < end && printed < o.max) {
      const recs = await log.read(topic, p, pos, Math.min(1000, o.max - printed));
      if (!recs.length) break;
      let text = '';
      const decoded = dec ? await dec.decode(recs.map((r) => r.value)) : undefined;
      for (const [i, r] of recs.entries()) {
        let value: unknown = decoded ? decoded[i] : tryParse(r.value);
        if (value instanceof DecodeFailure) value = { error: value.reason, rawBase64: Buffer.isBuffer(r.value) ? r.value.toString('base64') : r.value };
        const key = Buffer.isBuffer(r.key) ? r.key.toString('base64') : r.key;
        text += o.valuesOnly ? (dec ? JSON.stringify(value) : String(r.value)) + '\n' : JSON.stringify({ partition: p, offset: r.offset, key, timestamp: r.timestamp, value }) + '\n';
      }
      process.stdout.write(text);
      printed += recs.length;
      pos = recs[recs.length - 1]!.offset + 1;
    }
  }
  return 0;
}

function tryParse(s: string | Buffer): unknown {
  if (Buffer.isBuffer(s)) return { rawBase64: s.toString('base64') };
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}
