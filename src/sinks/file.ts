import { join } from 'node:path';
import type avro from 'avsc';
import { createAvroContainerWriter, createCsvWriter, createJsonlWriter, type RowWriter } from '../../connectors/files/index.js';
import { createParquetWriter, type ColumnBatch } from '../../connectors/parquet/index.js';
import type { Column, ColumnarBatch, ColumnType } from '../core/columns.js';
import { SluiceError } from '../core/errors.js';
import type { StreamRecord } from '../core/record.js';
import type { FileSinkConfig } from '../topology/schema.js';
import { partName, tempNameOf } from './parts.js';
import type { Sink } from './sink.js';
import type { PartFile, Transaction } from './transaction.js';

const EXT = { jsonl: 'jsonl', csv: 'csv', parquet: 'parquet', avro: 'avro' } as const;

/** Avro container parts: the writer schema, or how to derive it from a part's first rows. */
export type AvroPartSchema = avro.Type | ((sample: readonly Record<string, unknown>[]) => avro.Type);

/** A part's writer: rows always; columns when the format stores them (Parquet). */
interface PartWriter extends RowWriter {
  writeColumns?(batch: ColumnarBatch): Promise<void>;
}

interface OpenPart extends PartFile {
  writer: Promise<PartWriter>;
  /** The part's writes, in order; the checkpoint waits for it. */
  chain: Promise<void>;
  /** Set once a write failed: the part is unusable and the job must stop. */
  failed?: SluiceError;
}

/**
 * A write error as the job reports it. The writers already name the file and say
 * STORAGE_ERROR for the file system's errors (INVALID_INPUT for a bad row, handled
 * upstream); anything raw gets the sink's name and STORAGE_ERROR.
 */
function storageError(err: unknown, sink: string, task: string): SluiceError {
  if (err instanceof SluiceError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new SluiceError('STORAGE_ERROR', `file sink "${sink}" (task ${task}): write failed: ${msg}`, { sink }, { cause: err });
}

async function openWriter(path: string, cfg: FileSinkConfig, avroSchema: AvroPartSchema | undefined): Promise<PartWriter> {
  const columns = cfg.columns;
  switch (cfg.format) {
    case 'avro':
      return createAvroContainerWriter(path, { schema: avroSchema!, codec: cfg.avro?.codec });
    case 'csv':
      return createCsvWriter(path, columns ? { columns } : {});
    case 'parquet': {
      const w = await createParquetWriter(path);
      return {
        write: (rows) => w.writeRows(columns ? rows.map((r) => pick(r, columns)) : rows),
        writeColumns: (b) => w.writeColumns(toParquetBatch(b, columns)),
        close: () => w.close(),
        get rowsWritten() {
          return w.rowsWritten;
        },
      };
    }
    default:
      return createJsonlWriter(path);
  }
}

function toParquetBatch(b: ColumnarBatch, columns: string[] | undefined): ColumnBatch {
  const names = columns ?? [...b.columns.keys()];
  const cols: Record<string, Column> = {};
  const nulls: Record<string, Uint8Array | undefined> = {};
  // Columns the source declared keep their type (int64, timestamps, ...); others are typed by their values.
  const types: Record<string, ColumnType | undefined> = {};
  for (const n of names) {
    cols[n] = b.columns.get(n) ?? new Array<unknown>(b.rows).fill(null);
    nulls[n] = b.nulls.get(n);
    types[n] = b.types.get(n);
  }
  return { rows: b.rows, firstRow: b.offsets[0] ?? 0, columns: cols as ColumnBatch['columns'], nulls, types };
}

function pick(row: Record<string, unknown>, columns: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of columns) out[c] = row[c] ?? null;
  return out;
}

/**
 * Writes record values into part files in a directory, one open part per task. Each
 * checkpoint seals the task's part (the runtime renames it once the checkpoint commits)
 * and the next batch opens a new one, so a reader never sees a half-written file.
 */
export function createFileSink(name: string, dir: string, cfg: FileSinkConfig, avroSchema?: AvroPartSchema): Sink {
  const open = new Map<string, OpenPart>();
  return {
    name,
    stage(records: StreamRecord[], tx: Transaction) {
      if (!records.length) return;
      const part = open.get(tx.task) ?? openPart(tx.task, records[0]!);
      if (part.failed) throw part.failed;
      const values = records.map((r) => r.value);
      append(part, async () => (await part.writer).write(values), tx);
    },
    ...(cfg.format === 'parquet'
      ? {
          stageColumns(batch: ColumnarBatch, tx: Transaction) {
            if (!batch.rows) return;
            const part = open.get(tx.task) ?? openPart(tx.task, batch.record(0));
            if (part.failed) throw part.failed;
            append(part, async () => (await part.writer).writeColumns!(batch), tx);
          },
        }
      : {}),
    async close() {
      // Parts still open were never covered by a checkpoint: leave them as temporary files.
      await Promise.allSettled([...open.values()].map(async (p) => {
        await p.chain;
        await (await p.writer).close();
      }));
      open.clear();
    },
  };

  /** Queues a write on the part; a failed write fails the next stage() at once and the checkpoint that waits for it. */
  function append(part: OpenPart, write: () => Promise<void>, tx: Transaction): void {
    part.chain = part.chain.then(write).catch((err: unknown) => {
      part.failed = storageError(err, name, tx.task);
      throw part.failed;
    });
    tx.track(part.chain);
    tx.parts.add(part);
  }

  function openPart(task: string, first: StreamRecord): OpenPart {
    const file = partName(first.position.source, first.position.partition, first.position.offset, EXT[cfg.format]);
    const temp = tempNameOf(dir, file);
    const writer = openWriter(temp, cfg, avroSchema);
    const part: OpenPart = {
      writer,
      chain: writer.then(() => undefined),
      async seal() {
        open.delete(task);
        await part.chain;
        await (await writer).close();
        return { temp, final: join(dir, file) };
      },
    };
    open.set(task, part);
    return part;
  }
}
