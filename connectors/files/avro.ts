/**
 * Avro object container files (.avro): the schema is in the file header, records follow
 * in compressed blocks. avsc's block decoder and encoder do the work; this adds batching,
 * resuming at a row, progress in bytes, and a writer with the RowWriter interface.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import avro from 'avsc';
import { SluiceError } from '../../src/core/errors.js';
import type { FileBatch, ReadOptions } from './common.js';
import type { RowWriter } from './writers.js';

export interface AvroReadOptions extends Pick<ReadOptions, 'batchSize' | 'signal' | 'skipRows'> {
  /** The schema rows are read as; each file's own schema is resolved to it. Default: the file's schema. */
  readerSchema?: avro.Type | undefined;
}

/** Reads a container file in batches of rows (values are records of the file's or the reader's schema). */
export async function* readAvroContainer(path: string, o: AvroReadOptions): AsyncGenerator<FileBatch> {
  const file = createReadStream(path, { highWaterMark: 1 << 20, ...(o.signal ? { signal: o.signal } : {}) });
  let bytesRead = 0;
  file.on('data', (chunk) => (bytesRead += chunk.length));
  const decoder = new avro.streams.BlockDecoder(o.readerSchema ? { readerSchema: o.readerSchema } : {});
  file.on('error', (err) => decoder.destroy(err));
  file.pipe(decoder);
  let skip = o.skipRows ?? 0;
  let row = 0;
  let rows: FileBatch['rows'] = [];
  try {
    for await (const value of decoder as AsyncIterable<Record<string, unknown>>) {
      row++;
      if (skip > 0) {
        skip--;
        continue;
      }
      rows.push({ line: row, value, raw: '' });
      if (rows.length >= o.batchSize) {
        yield { rows, bytesRead };
        rows = [];
      }
    }
  } catch (err) {
    if (o.signal?.aborted) throw o.signal.reason;
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new SluiceError('NOT_FOUND', `Avro file ${path} does not exist`);
    throw new SluiceError('DECODE_ERROR', `Avro file ${path}: cannot read it as an Avro object container file after row ${row}: ${e.message}`);
  } finally {
    file.destroy();
  }
  if (rows.length) yield { rows, bytesRead };
}

export interface AvroWriterOptions {
  /** The writer schema, or how to derive it from the first rows written. */
  schema: avro.Type | ((sample: readonly Record<string, unknown>[]) => avro.Type);
  /** Block compression. Default deflate. */
  codec?: 'null' | 'deflate' | undefined;
}

/** Writes rows to a new container file; the schema is fixed by the first write. */
export function createAvroContainerWriter(path: string, o: AvroWriterOptions): RowWriter {
  let encoder: avro.streams.BlockEncoder | undefined;
  let out: ReturnType<typeof createWriteStream> | undefined;
  let failure: Error | undefined;
  let count = 0;
  let closing: Promise<void> | undefined;
  return {
    async write(values) {
      if (failure) throw failure;
      if (!values.length) return;
      if (!encoder) {
        const type = typeof o.schema === 'function' ? o.schema(values) : o.schema;
        encoder = new avro.streams.BlockEncoder(type, { codec: o.codec ?? 'deflate' });
        out = createWriteStream(path);
        out.on('error', (err) => (failure ??= err));
        encoder.on('error', (err) => (failure ??= err));
        encoder.pipe(out);
      }
      for (let i = 0; i < values.length; i++) {
        try {
          // The block encoder checks each value against the schema as it writes it.
          if (!encoder.write(values[i]) && i < values.length - 1) await once(encoder, 'drain');
        } catch (err) {
          throw new SluiceError('INVALID_INPUT', `Avro file ${path}: row ${count + i} does not fit the schema: ${(err as Error).message}`);
        }
        const f = failure as Error | undefined; // set by stream events while awaiting
        if (f) throw new SluiceError('INVALID_INPUT', `Avro file ${path}: row ${count + i}: ${f.message}`);
      }
      count += values.length;
    },
    close() {
      closing ??= (async () => {
        if (!encoder || !out) {
          // Nothing was written: still leave a valid (empty) file only if a schema is known.
          if (typeof o.schema !== 'function') {
            encoder = new avro.streams.BlockEncoder(o.schema, { codec: o.codec ?? 'deflate' });
            out = createWriteStream(path);
            encoder.pipe(out);
          } else return;
        }
        const finished = once(out, 'close');
        encoder.end();
        await finished;
        const f = failure as Error | undefined;
        if (f) throw new SluiceError('STORAGE_ERROR', `Avro file ${path}: ${f.message}`);
      })();
      return closing;
    },
    get rowsWritten() {
      return count;
    },
  };
}
