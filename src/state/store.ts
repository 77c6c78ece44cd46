/** One change to a state store: `value` undefined deletes the key; text is stored as UTF-8. */
export interface StateWrite {
  key: string;
  value: string | Buffer | undefined;
}

/** A stored value as read back: the store may hand out text or bytes (both UTF-8 JSON for keyed state). */
export type StoredValue = string | Buffer;

/**
 * What a keyed state backend reads from. The runtime hands one to each task; the
 * embedded log's kv space (getKv/scanKv) has exactly these semantics. Writes never go
 * through it: they leave as StateWrite lists and are committed with the checkpoint.
 */
export interface StateStore {
  get(key: string): Promise<Buffer | undefined>;
  /** Many keys in one round trip, in order (classic-level's getMany is ~4× faster than awaited gets). */
  getMany?(keys: string[]): Promise<(StoredValue | undefined)[]>;
  /** Every entry whose key starts with `prefix`, in key order. */
  scan(prefix: string): AsyncIterable<[string, Buffer]>;
  /**
   * Changes whenever a write has landed in the store. A read that began and ended at the
   * same version may be reused while the version stays; absent when the store cannot tell.
   */
  version?(): number;
}

/** The kv part of the embedded log, typed structurally so state does not import connectors. */
export interface KvLog {
  getKv(key: string): Promise<Buffer | undefined>;
  getManyKvText?(keys: string[]): Promise<(string | undefined)[]>;
  scanKv(prefix: string): AsyncIterable<[string, Buffer]>;
  kvVersion?(): number;
}

/** Adapts the embedded log's kv space (or anything with getKv/scanKv) to a StateStore. */
export function kvStateStore(log: KvLog): StateStore {
  const many = log.getManyKvText?.bind(log);
  const version = log.kvVersion?.bind(log);
  return {
    get: (key) => log.getKv(key),
    ...(many ? { getMany: (keys: string[]) => many(keys) } : {}),
    scan: (prefix) => log.scanKv(prefix),
    ...(version ? { version } : {}),
  };
}

/** An in-memory store for unit tests: `apply` plays the role of the checkpoint commit. */
export class MemoryStateStore implements StateStore {
  readonly data = new Map<string, Buffer>();
  /** Read calls made (get, getMany, scan), so tests can see batching. */
  reads = 0;
  private applied = 0;

  version(): number {
    return this.applied;
  }

  apply(writes: readonly StateWrite[]): void {
    this.applied++;
    for (const w of writes) {
      if (w.value === undefined) this.data.delete(w.key);
      else this.data.set(w.key, typeof w.value === 'string' ? Buffer.from(w.value, 'utf8') : Buffer.from(w.value));
    }
  }

  async get(key: string): Promise<Buffer | undefined> {
    this.reads++;
    return this.data.get(key);
  }

  async getMany(keys: string[]): Promise<(Buffer | undefined)[]> {
    this.reads++;
    return keys.map((k) => this.data.get(k));
  }

  async *scan(prefix: string): AsyncIterable<[string, Buffer]> {
    this.reads++;
    const keys = [...this.data.keys()].filter((k) => k.startsWith(prefix)).sort();
    for (const k of keys) {
      const v = this.data.get(k);
      if (v !== undefined) yield [k, v];
    }
  }
}
