import type { EmbeddedLog } from '../../../connectors/embedded/index.js';
import type { BridgeMessage, BridgeTransport, Subscription } from './transport.js';

/** How long a partition reader waits for an append before checking whether it was closed. */
const WAIT_MS = 200;

/** The bridge on the embedded log: one process, partitions read from their end when subscribed. */
export function embeddedTransport(log: EmbeddedLog): BridgeTransport {
  const subs = new Set<Subscription>();
  return {
    async ensureTopic(topic, partitions) {
      if (!log.topic(topic)) await log.createTopic(topic, partitions);
    },
    async send(topic, messages) {
      await log.produce(topic, messages.map((m) => ({ key: m.key, value: m.value, timestamp: Date.now(), headers: m.headers })));
    },
    async subscribe(topic, _group, handler) {
      const ac = new AbortController();
      const parts = log.requireTopic(topic).partitions;
      const readers = Array.from({ length: parts }, async (_, p) => {
        let pos = log.endOffset(topic, p);
        while (!ac.signal.aborted) {
          const recs = await log.read(topic, p, pos, 512);
          if (!recs.length) {
            await log.waitForAppend(topic, p, pos, WAIT_MS, ac.signal);
            continue;
          }
          pos = recs[recs.length - 1]!.offset + 1;
          // Bridge topics carry JSON text; a log record may hold bytes (Avro topics), read here as UTF-8.
          await handler(recs.map((r): BridgeMessage => ({ key: r.key === null ? null : String(r.key), value: String(r.value), headers: r.headers ?? {} })));
        }
      });
      const sub: Subscription = {
        async close() {
          ac.abort();
          await Promise.allSettled(readers);
          subs.delete(sub);
        },
      };
      subs.add(sub);
      return sub;
    },
    async close() {
      await Promise.all([...subs].map((s) => s.close()));
    },
  };
}
