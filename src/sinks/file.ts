import { createCsvWriter, createJsonlWriter, type RowWriter } from '../../connectors/files/index.js';
import type { StreamRecord } from '../core/record.js';
import type { FileSinkConfig } from '../topology/schema.js';
import type { Sink } from './sink.js';
import type { Transaction } from './transaction.js';

/**
 * Appends record values to a JSONL or CSV file. Writes are chained so rows from
 * different tasks never interleave within a batch; the checkpoint waits for them.
 */
export async function createFileSink(name: string, path: string, cfg: FileSinkConfig): Promise<Sink> {
  const writer: RowWriter = cfg.format === 'csv' ? await createCsvWriter(path, cfg.columns ? { columns: cfg.columns } : {}) : await createJsonlWriter(path);
  let chain: Promise<void> = Promise.resolve();
  return {
    name,
    stage(records: StreamRecord[], tx: Transaction) {
      const values = records.map((r) => r.value);
      chain = chain.then(() => writer.write(values));
      tx.pending.push(chain);
    },
    async close() {
      await chain.catch(() => undefined);
      await writer.close();
    },
  };
}
