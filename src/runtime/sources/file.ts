import { expandPaths, readCsv, readJsonl, type FileBatch } from '../../../connectors/files/index.js';
import type { DeadLetter, StreamRecord } from '../../core/record.js';
import { EMPTY_HEADERS } from '../../sinks/index.js';
import type { FileSourceConfig } from '../../topology/schema.js';
import { decodeError, type PollResult, type SourcePartition } from './source.js';

/** Opens one SourcePartition per file matched by the source's path (bounded: each ends at end of file). */
export async function openFileSource(name: string, config: FileSourceConfig, baseDir: string, batchSize: number): Promise<SourcePartition[]> {
  const files = await expandPaths(config.path, baseDir);
  return files.map((file, partition) => new FilePartitionSource(name, partition, file, config, batchSize));
}

class FilePartitionSource implements SourcePartition {
  private iter: AsyncIterator<FileBatch> | undefined;
  private rows = 0;
  private readonly controller = new AbortController();

  constructor(readonly source: string, readonly partition: number, private readonly file: string, private readonly config: FileSourceConfig, private readonly batchSize: number) {}

  async poll(_max: number, signal: AbortSignal): Promise<PollResult> {
    if (signal.aborted) return { records: [], dead: [], next: this.rows, end: true };
    if (!this.iter) {
      const opts = { batchSize: this.batchSize, signal: this.controller.signal };
      const it = this.config.format === 'csv' ? readCsv(this.file, { ...opts, inferTypes: this.config.inferTypes ?? true }) : readJsonl(this.file, opts);
      this.iter = it[Symbol.asyncIterator]();
    }
    const step = await this.iter.next();
    if (step.done) return { records: [], dead: [], next: this.rows, end: true };
    const records: StreamRecord[] = [];
    const dead: DeadLetter[] = [];
    const now = Date.now();
    for (const row of step.value.rows) {
      const offset = this.rows++;
      if ('error' in row) dead.push(decodeError(this.source, this.partition, offset, null, now, row.raw, row.error.message));
      else records.push({ key: null, value: row.value, timestamp: now, headers: EMPTY_HEADERS, position: { source: this.source, partition: this.partition, offset } });
    }
    return { records, dead, next: this.rows, end: false };
  }

  commitFor(): null {
    return null;
  }

  async close(): Promise<void> {
    this.controller.abort();
    await this.iter?.return?.();
  }
}
