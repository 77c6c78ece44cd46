/**
 * A read-only StateStore that merges the reads of concurrent callers: every key asked
 * for while the event loop handles one round of I/O is read with one getMany in the
 * check phase right after it, each distinct key once. The online request path reads the
 * state of one key per request, and concurrent requests often share keys (one airport,
 * one card); one store round trip per request was a quarter of the topology endpoint's
 * CPU. A read is issued only after it was asked for, never answered from an earlier
 * read, so it sees every commit that landed before its request.
 */
import type { StateStore, StoredValue } from './store.js';

interface Pending {
  keys: Map<string, number>;
  waiters: { idx: number[]; resolve(v: (StoredValue | undefined)[]): void; reject(e: unknown): void }[];
}

export function coalescingReads(store: StateStore): StateStore {
  let pending: Pending | null = null;
  const flush = (p: Pending): void => {
    pending = null;
    const keys = [...p.keys.keys()];
    const read = store.getMany ? store.getMany(keys) : Promise.all(keys.map((k) => store.get(k)));
    read.then(
      (values) => {
        for (const w of p.waiters) w.resolve(w.idx.map((i) => values[i]));
      },
      (err: unknown) => {
        for (const w of p.waiters) w.reject(err);
      },
    );
  };
  const getMany = (keys: string[]): Promise<(StoredValue | undefined)[]> =>
    new Promise((resolve, reject) => {
      let p = pending;
      if (!p) {
        p = pending = { keys: new Map(), waiters: [] };
        setImmediate(flush, p);
      }
      const idx = keys.map((k) => {
        let i = p.keys.get(k);
        if (i === undefined) p.keys.set(k, (i = p.keys.size));
        return i;
      });
      p.waiters.push({ idx, resolve, reject });
    });
  return {
    getMany,
    get: async (key) => {
      const [v] = await getMany([key]);
      return v === undefined || Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8');
    },
    scan: (prefix) => store.scan(prefix),
  };
}
