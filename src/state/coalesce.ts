/**
 * A read-only StateStore that merges the reads of concurrent callers: every key asked
 * for while the event loop handles one round of I/O is read with one getMany in the
 * check phase right after it, each distinct key once. The online request path reads the
 * state of one key per request, and concurrent requests often share keys (one airport,
 * one card); one store round trip per request was a quarter of the topology endpoint's
 * CPU.
 *
 * When the store has a write version (StateStore.version), what a read returned is kept
 * and reused for as long as no write has landed since the read began: the answer is then
 * the one a new read would give. Any landed write drops everything kept. Without a version
 * every read goes to the store, issued after it was asked for, so it sees every commit
 * that landed before its request.
 */
import type { StateStore, StoredValue } from './store.js';

interface Pending {
  keys: Map<string, number>;
  waiters: { idx: number[]; resolve(v: (StoredValue | undefined)[]): void; reject(e: unknown): void }[];
}

/** Most values kept between writes; past it the kept values are dropped and kept afresh. */
const KEEP_MAX = 50_000;

export function coalescingReads(store: StateStore): StateStore {
  let pending: Pending | null = null;
  const version = store.version?.bind(store);
  let keptAt = -1;
  const kept = new Map<string, StoredValue | undefined>();
  const flush = (p: Pending): void => {
    pending = null;
    const keys = [...p.keys.keys()];
    const began = version?.();
    const read = store.getMany ? store.getMany(keys) : Promise.all(keys.map((k) => store.get(k)));
    read.then(
      (values) => {
        if (began !== undefined && version!() === began) {
          if (keptAt !== began || kept.size + keys.length > KEEP_MAX) kept.clear();
          keptAt = began;
          for (let i = 0; i < keys.length; i++) kept.set(keys[i]!, values[i]);
        }
        for (const w of p.waiters) w.resolve(w.idx.map((i) => values[i]));
      },
      (err: unknown) => {
        for (const w of p.waiters) w.reject(err);
      },
    );
  };
  const getMany = (keys: string[]): Promise<(StoredValue | undefined)[]> => {
    if (version && keptAt === version() && keys.every((k) => kept.has(k))) return Promise.resolve(keys.map((k) => kept.get(k)));
    return new Promise((resolve, reject) => {
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
  };
  return {
    getMany,
    get: async (key) => {
      const [v] = await getMany([key]);
      return v === undefined || Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8');
    },
    scan: (prefix) => store.scan(prefix),
  };
}
