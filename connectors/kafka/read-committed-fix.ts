import { createRequire } from 'node:module';

/**
 * kafkajs 2.2.4 hides aborted transactions' records with a filter that assumes the broker lists
 * aborted transactions in order of their first offset and that starts at most one of them per
 * record (src/consumer/filterAbortedMessages.js). The broker lists them in the order they were
 * aborted, so a transaction that began earlier but was aborted later (an instance fenced while
 * another producer's transaction was also aborted, as after a broker restart) leaked its records
 * to read_committed readers. This replaces the filter with one that sorts the list and starts
 * every aborted transaction whose first offset has been reached, as the Java consumer does.
 *
 * It must run before kafkajs loads its consumer (which keeps a reference to the filter), so
 * connectors/kafka/config.ts imports it before kafkajs.
 */
interface Msg {
  offset: string;
  key: Buffer | null;
  batchContext: { producerId: string | number | { toString(): string }; inTransaction: boolean };
}
interface Aborted {
  producerId: string | number | { toString(): string };
  firstOffset: string | number | { toString(): string };
}

const ABORT_MARKER_KEY = Buffer.from([0, 0, 0, 0]);

export function filterAbortedMessages({ messages, abortedTransactions }: { messages: Msg[]; abortedTransactions?: Aborted[] }): Msg[] {
  if (!abortedTransactions?.length) return messages;
  const pending = abortedTransactions.map((a) => ({ producerId: String(a.producerId), first: BigInt(String(a.firstOffset)) })).sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  const aborted = new Set<string>();
  return messages.filter((m) => {
    const offset = BigInt(m.offset);
    while (pending.length && offset >= pending[0]!.first) aborted.add(pending.shift()!.producerId);
    const producerId = String(m.batchContext.producerId);
    if (m.key && Buffer.from(m.key).equals(ABORT_MARKER_KEY)) {
      aborted.delete(producerId);
      return true; // a control record: kafkajs drops those itself
    }
    return !(aborted.has(producerId) && m.batchContext.inTransaction);
  });
}

const require = createRequire(import.meta.url);
const filterPath = require.resolve('kafkajs/src/consumer/filterAbortedMessages');
const batchPath = filterPath.replace(/filterAbortedMessages\.js$/, 'batch.js');

/** True when the fixed filter is the one kafkajs's consumer uses. */
export let readCommittedFixed = false;

if (require.cache[batchPath]) {
  // kafkajs was loaded before this module: its Batch already holds the original filter.
  process.emitWarning('kafkajs was imported before sluice\'s Kafka connector: its read_committed filter could not be fixed (aborted records may be delivered); import sluice first', { code: 'SLUICE_KAFKAJS_FILTER' });
} else {
  require(filterPath);
  const cached = require.cache[filterPath];
  if (cached) {
    cached.exports = filterAbortedMessages;
    readCommittedFixed = true;
  }
}
