import { SluiceError } from '../core/errors.js';
import { toJson } from '../core/json.js';
import type { StreamRecord } from '../core/record.js';
import type { Sink } from './sink.js';
import type { Transaction } from './transaction.js';

/** Prints one JSON line per record value on stdout (logs go to stderr). */
export function createStdoutSink(name: string, out: NodeJS.WritableStream = process.stdout): Sink {
  return {
    name,
    stage(records: StreamRecord[], tx: Transaction) {
      let text = '';
      for (const r of records) text += toJson(r.value) + '\n';
      tx.track(new Promise<void>((resolve, reject) => out.write(text, (err) => (err ? reject(new SluiceError('STORAGE_ERROR', `stdout sink "${name}": write failed: ${err.message}`, { sink: name }, { cause: err })) : resolve()))));
    },
    async close() {},
  };
}
