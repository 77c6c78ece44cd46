import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { EmbeddedLog } from '../../connectors/embedded/index.js';
import { SluiceError } from '../core/errors.js';
import type { LogRecord } from '../core/record.js';
import { intOption, parse, requirePositional } from './args.js';
import { resolve } from 'node:path';

const USAGE = 'sluice topics list | create NAME [--partitions N] | produce NAME [--file F] [--key FIELD] | consume NAME [--from-beginning|--offset N] [--max N] [--values]';

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
  });
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
        return await produce(log, requirePositional('topics produce', args.positionals, 'the topic NAME'), args.str('file'), args.str('key'));
      case 'consume':
        return await consume(log, requirePositional('topics consume', args.positionals, 'the topic NAME'), {
          max: intOption('topics consume', 'max', args.str('max')) ?? Infinity,
          offset: intOption('topics consume', 'offset', args.str('offset')) ?? 0,
          valuesOnly: args.flag('values'),
        });
    }
  } finally {
    await log.close();
  }
  return 0;
}

/** Appends JSON lines (one record value per line) from a file or stdin, keyed by a field if asked. */
async function produce(log: EmbeddedLog, topic: string, file: string | undefined, keyField: string | undefined): Promise<number> {
  if (!log.topic(topic)) await log.createTopic(topic, 1);
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
    batch.push({ key, value: line, timestamp: Date.now() });
    if (batch.length >= 1000) {
      await log.produce(topic, batch);
      total += batch.length;
      batch = [];
    }
  }
  if (batch.length) await log.produce(topic, batch);
  total += batch.length;
  process.stderr.write(`produced ${total} record(s) to ${topic}${unparsable ? ` (${unparsable} line(s) are not JSON objects; they are stored as sent and a topology will dead-letter them)` : ''}\n`);
  return 0;
}

/** Prints records from every partition, from an offset up to the current end. */
async function consume(log: EmbeddedLog, topic: string, o: { max: number; offset: number; valuesOnly: boolean }): Promise<number> {
  const info = log.requireTopic(topic);
  let printed = 0;
  for (let p = 0; p < info.partitions && printed < o.max; p++) {
    let pos = Math.max(o.offset, log.startOffset(topic, p));
    const end = log.endOffset(topic, p);
    while (pos < end && printed < o.max) {
      const recs = await log.read(topic, p, pos, Math.min(1000, o.max - printed));
      if (!recs.length) break;
      let text = '';
      for (const r of recs) {
        text += o.valuesOnly ? r.value + '\n' : JSON.stringify({ partition: p, offset: r.offset, key: r.key, timestamp: r.timestamp, value: tryParse(r.value) }) + '\n';
      }
      process.stdout.write(text);
      printed += recs.length;
      pos = recs[recs.length - 1]!.offset + 1;
    }
  }
  return 0;
}

function tryParse(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}
