import { stat } from 'node:fs/promises';
import type { EmbeddedLog } from '../../../connectors/embedded/index.js';
import type avro from 'avsc';
import { expandPaths, readAvroContainer, readCsv, readJsonl, type FileBatch } from '../../../connectors/files/index.js';
import { readParquetColumns, readParquetMetadata, type ColumnBatch } from '../../../connectors/parquet/index.js';
import { ColumnarBatch, type Column, type ColumnType } from '../../core/columns.js';
import type { DeadLetter, StreamRecord } from '../../core/record.js';
import { onlineActivity } from '../../core/online-activity.js';
import { EMPTY_HEADERS } from '../../sinks/index.js';
import type { FileSourceConfig } from '../../topology/schema.js';
import { decodeError, type PollResult, type SourcePartition } from './source.js';

export interface FileSourceOptions {
  name: string;
  config: FileSourceConfig;
  baseDir: string;
  batchSize: number;
  /** Where positions are kept, so a rerun resumes; without it every run starts at row 0. */
  log: EmbeddedLog | undefined;
  job: string;
  /** Avro container files: the reader schema each file's schema is resolved to. */
  avroReader?: avro.Type | undefined;
}

/** The kv key of a file's read position (rows done) for a job. */
export function filePositionKey(job: string, source: string, file: string): string {
  return `pos/${job}/${source}/${file}`;
}

/** Opens one bounded SourcePartition per file matched by the source's path, resuming at committed positions. */
export async function openFileSource(o: FileSourceOptions): Promise<SourcePartition[]> {
  const files = await expandPaths(o.config.path, o.baseDir);
  const parts: SourcePartition[] = [];
  for (const [partition, file] of files.entries()) {
    const saved = await o.log?.getKv(filePositionKey(o.job, o.name, file));
    parts.push(new FilePartitionSource(o, partition, file, saved ? Number(saved.toString()) : 0));
  }
  return parts;
}

/**
 * Row formats (JSONL, CSV, Avro) are read in pieces of at most this many rows, gathered up
 * to a poll's batch size; while online requests are recent (core/online-activity.ts) a poll
 * returns after one piece, so decoding never holds the event loop for a whole large batch.
 */
const PIECE_ROWS = 256;

class FilePartitionSource implements SourcePartition {
  readonly source: string;
  private iter: AsyncIterator<{ rows: Row[]; bytesRead?: number } | ColumnBatch> | undefined;
  private rows: number;
  private total: { value: number; unit: string } | null = null;
  private bytesRead = 0;
  private readonly controller = new AbortController();
  /** The reader is exhausted (seen while gathering pieces; the next poll reports the end). */
  private ended = false;
  /** Rows of a piece beyond the last poll's batch size, handed out first by the next poll. */
  private carry: Row[] | null = null;

  constructor(private readonly o: FileSourceOptions, readonly partition: number, private readonly file: string, start: number) {
    this.source = o.name;
    this.rows = start;
  }

  private async open(): Promise<AsyncIterator<{ rows: Row[]; bytesRead?: number } | ColumnBatch>> {
    const { config, batchSize } = this.o;
    const common = { batchSize, signal: this.controller.signal, skipRows: this.rows };
    if (config.format === 'parquet') {
      const meta = await readParquetMetadata(this.file);
      this.total = { value: meta.rows, unit: 'rows' };
      return readParquetColumns(this.file, { ...common, columns: config.columns });
    }
    common.batchSize = Math.min(batchSize, PIECE_ROWS);
    this.total = { value: (await stat(this.file)).size, unit: 'bytes' };
    const it = config.format === 'csv' ? readCsv(this.file, { ...common, inferTypes: config.inferTypes ?? true })
      : config.format === 'avro' ? readAvroContainer(this.file, { ...common, readerSchema: this.o.avroReader })
      : readJsonl(this.file, common);
    return (it as AsyncIterable<FileBatch>)[Symbol.asyncIterator]();
  }

  async poll(max: number, signal: AbortSignal): Promise<PollResult> {
    if (signal.aborted) return { records: [], dead: [], next: this.rows, end: true };
    if (this.ended) return { records: [], dead: [], next: this.rows, end: true, bounded: true };
    this.iter ??= await this.open();
    const records: StreamRecord[] = [];
    const dead: DeadLetter[] = [];
    const now = Date.now();
    while (records.length + dead.length < max) {
      let rows = this.carry;
      this.carry = null;
      if (!rows) {
        const step = await this.iter.next();
        if (step.done) {
          this.ended = true;
          if (records.length + dead.length === 0) return { records, dead, next: this.rows, end: true, bounded: true };
          break;
        }
        if ('firstRow' in step.value) return this.columnar(step.value); // parquet: whole batches
        if (step.value.bytesRead !== undefined) this.bytesRead = step.value.bytesRead;
        rows = step.value.rows;
      }
      const room = max - records.length - dead.length;
      if (rows.length > room) {
        this.carry = rows.slice(room);
        rows = rows.slice(0, room);
      }
      for (const row of rows) {
        const offset = this.rows++;
        if ('error' in row) dead.push(decodeError(this.source, this.partition, offset, null, now, row.raw, row.error.message));
        else records.push({ key: null, value: row.value, timestamp: now, headers: EMPTY_HEADERS, position: { source: this.source, partition: this.partition, offset } });
      }
      if (onlineActivity.busy()) break;
    }
    return { records, dead, next: this.rows, end: false };
  }

  /** Parquet batches stay columnar; operators that need records make them. */
  private columnar(b: ColumnBatch): PollResult {
    const columns = new Map<string, Column>(Object.entries(b.columns) as [string, Column][]);
    const nulls = new Map<string, Uint8Array>();
    for (const [k, m] of Object.entries(b.nulls)) if (m) nulls.set(k, m);
    const offsets = new Float64Array(b.rows);
    for (let i = 0; i < b.rows; i++) offsets[i] = b.firstRow + i;
    this.rows = b.firstRow + b.rows;
    const types = new Map(Object.entries(b.types).filter((e): e is [string, ColumnType] => e[1] !== undefined));
    return { records: new ColumnarBatch(b.rows, columns, nulls, this.source, this.partition, offsets, Date.now(), null, types), dead: [], next: this.rows, end: false };
  }

  commitFor(next: number) {
    return { kv: [{ key: filePositionKey(this.o.job, this.source, this.file), value: Buffer.from(String(next)) }] };
  }

  progress() {
    if (!this.total) return null;
    return { done: this.total.unit === 'rows' ? this.rows : this.bytesRead, total: this.total.value, unit: this.total.unit };
  }

  async close(): Promise<void> {
    this.controller.abort();
    await this.iter?.return?.().catch(() => undefined);
  }
}

type Row = { value: Record<string, unknown> } | { error: Error; raw: string };
