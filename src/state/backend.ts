import type { Clock } from '../core/clock.js';
import { SluiceError } from '../core/errors.js';
import { escapeKeyPart, unescapeKeyPart } from './keys.js';
import { PACKED, PackError, PackReader, PackWriter } from './packed.js';
import type { StateStore, StateWrite, StoredValue } from './store.js';

/** Options of one declared state. */
export interface StateOptions {
  /** Entries expire this long after their last write (clock time); an expired entry reads as absent. Default: never. */
  ttlMs?: number;
  /** Whether `load(keys)` without a state list prefetches this state. Default true; turn off for states read by other keys. */
  prefetch?: boolean;
}

/**
 * A compact stored form for the values of one value state (see packed.ts). Values it
 * cannot represent are stored as JSON, and JSON entries (older versions wrote only
 * those) still read back, through fromJson when given.
 */
export interface StateCodec<T> {
  /** Writes the value; false when it has no packed form (it is then stored as JSON). */
  write(value: T, w: PackWriter): boolean;
  /** Reads a value write() wrote; throws PackError on anything else. */
  read(r: PackReader): T;
  /**
   * Checks (and may convert) a value read from a JSON entry, so that the state's values
   * are well formed once loaded, whichever form they were stored in; throws SluiceError
   * (STATE_CORRUPT) on a damaged one. Default: taken as it is.
   */
  fromJson?(value: unknown, key: string): T;
}

/** Options of a value state: the state options and, optionally, a packed stored form. */
export interface ValueStateOptions<T> extends StateOptions {
  codec?: StateCodec<T>;
}

export interface ValueState<T> {
  /**
   * The value, or undefined when absent or expired. Throws if the key was not load()ed.
   * The value is the cached one, not a copy: it may be changed in place (saving a copy per
   * record) only if set(key, value) follows before the batch ends, so the change is written.
   */
  get(key: string): T | undefined;
  /** Stores a value (undefined clears); refreshes the TTL. Needs no load. */
  set(key: string, value: T | undefined): void;
  clear(key: string): void;
}

export interface MapState<V> {
  get(key: string, field: string): V | undefined;
  /** Needs the key loaded (the whole map is one stored entry). Refreshes the TTL. */
  put(key: string, field: string, value: V): void;
  remove(key: string, field: string): void;
  /** The key's fields, in insertion order (a copy). */
  entries(key: string): [string, V][];
  clear(key: string): void;
}

export interface ListState<T> {
  /** The key's list (read-only view; empty when absent or expired). */
  get(key: string): readonly T[];
  /** Needs the key loaded. Refreshes the TTL. */
  add(key: string, value: T): void;
  clear(key: string): void;
}

type Kind = 'value' | 'map' | 'list';

interface StateDef {
  readonly name: string;
  readonly kind: Kind;
  readonly ttlMs: number;
  readonly prefetch: boolean;
  readonly codec: StateCodec<unknown> | undefined;
  /** namespace + escaped name + '/' */
  readonly prefix: string;
  /**
   * This state's cached entries by record key (the escaping is one-to-one, so this is the
   * same as keying by storage key, without building and hashing a storage key per access).
   */
  readonly cache: Map<string, Entry>;
  /** Keys being read from the store right now, with the read that will cache them. */
  readonly reading: Map<string, Promise<void>>;
  /**
   * Keys evicted while some read was in flight, with the eviction's number: a read that
   * began before that eviction may hold an older value than the store now has, so it must
   * not cache it (see installs in read()).
   */
  readonly evicted: Map<string, number>;
  /**
   * The entry need() or put() found last: a step reads a key's value and then sets it,
   * record after record, and each lookup in a cache of 100k entries costs a few cache
   * misses. Cleared when that entry leaves the cache.
   */
  last: Entry | undefined;
}

/** An entry a load found neither cached nor being read. */
interface Missing {
  def: StateDef;
  key: string;
  sk: string;
}

const CLEAN = 0;
const DIRTY = 1;
/** Drained but not yet acknowledged as committed: must not be evicted (the store may not have it yet). */
const PENDING = 2;
/** Just made, in no list yet. */
const NEW = 3;

interface Entry {
  readonly def: StateDef;
  readonly key: string;
  // No storage key here: it is derived when the entry is written (storageKey), since every
  // cached entry outlives young-generation GCs and a ~60-byte key string per entry was a
  // large share of what the GC copied and marked per newly cached key.
  /** undefined = absent; map states hold a Map, list states an array. */
  value: unknown;
  /** Epoch ms; 0 = no expiry. */
  expiresAt: number;
  where: typeof CLEAN | typeof DIRTY | typeof PENDING | typeof NEW;
  /**
   * Whether the store may hold a value for this key once the drains so far commit. While
   * false, clearing the entry needs no write: a value that lived and died between two
   * drains (a window opened and fired within one checkpoint) never reaches the store.
   */
  stored: boolean;
  /**
   * Whether a state with a codec writes this entry packed: true unless it was read as
   * JSON, so an entry keeps the form it was stored in (a data directory of an earlier
   * version keeps the JSON it wrote for its keys), and new keys are written packed.
   */
  packed: boolean;
  seq: number;
  /** Neighbours in the LRU list while clean; null otherwise. */
  prev: Entry | null;
  next: Entry | null;
}

export interface KeyedStateBackendOptions {
  /** Prefix of every storage key of this backend, ending in '/', e.g. `state/<job>/<task>/<operatorId>/`. */
  namespace: string;
  clock: Clock;
  /** Most clean (committed) entries kept in the cache, least recently loaded evicted first. Default 100_000. */
  cacheEntries?: number;
  /** A live backend of the same namespace whose cached entries load() prefers to the store (read-only views). */
  overlay?: KeyedStateBackend;
}

/**
 * Keyed state for one operator in one task. Reads are synchronous against a cache that
 * `load(keys)` fills with one batched store read per batch; writes stay in the cache as
 * dirty entries until `drainWrites()` hands them to the runtime, which commits them with
 * the batch's outputs and source position.
 *
 * Cache lifecycle of an entry: clean (same as the store; LRU-evictable) → dirty (written;
 * never evicted) → pending (drained, not yet known to be committed; never evicted, since
 * a read from the store could still see the old value) → clean again after
 * `markCommitted(seq)`. Eviction runs only in drainWrites and markCommitted, so what a
 * batch loaded stays readable until the batch ends. After a failed commit, throw the
 * backend away: its cache holds changes the store never got.
 *
 * Bookkeeping is per access, so it is kept to one hash lookup by record key: clean
 * entries form an intrusive LRU list, dirty entries an array, and drained entries one
 * list per drain (no map is keyed by storage key).
 */
export class KeyedStateBackend {
  private readonly store: StateStore;
  private readonly namespace: string;
  private readonly clock: Clock;
  private readonly maxClean: number;
  private readonly defs = new Map<string, StateDef>();
  /** Clean entries, least recently loaded first (a doubly linked list through Entry.prev/next). */
  private lruHead: Entry | null = null;
  private lruTail: Entry | null = null;
  private lruSize = 0;
  /** Entries written since the last drain (each once: an entry is pushed when it becomes dirty). */
  private dirty: Entry[] = [];
  /** What each not yet committed drain wrote, oldest first; items an entry has since left (re-dirtied, re-drained) are skipped. */
  private readonly drained: { seq: number; entries: Entry[] }[] = [];
  private pendingCount = 0;
  private drains = 0;
  /** Evictions so far, and the eviction count at the start of each store read in flight. */
  private evictions = 0;
  private readonly readsInFlight: number[] = [];
  /**
   * What prefetch() did, by key set (the same object a step then passes to load()): the
   * states, the removal count then, and its store read.
   */
  private readonly prefetched = new WeakMap<object, { states: readonly string[] | undefined; removals: number; reads: Promise<unknown> | undefined }>();
  /** Entries removed from the cache so far, evicted or forgotten (see drainWrites): a prefetch's lookups hold while this stays the same. */
  private removals = 0;
  /** Reused by every packed encode and decode (both synchronous). */
  private readonly packer = new PackWriter();
  private readonly reader = new PackReader();

  /** Read first by load(): a live backend whose cache may hold changes the store has not got yet. */
  private readonly overlay: KeyedStateBackend | undefined;

  constructor(store: StateStore, opts: KeyedStateBackendOptions) {
    if (!opts.namespace.endsWith('/')) throw new SluiceError('INTERNAL', `state namespace must end with '/'; got ${JSON.stringify(opts.namespace)}`);
    this.store = store;
    this.overlay = opts.overlay;
    this.namespace = opts.namespace;
    this.clock = opts.clock;
    this.maxClean = opts.cacheEntries ?? 100_000;
  }

  value<T>(name: string, opts: ValueStateOptions<T> = {}): ValueState<T> {
    const def = this.declare(name, 'value', opts, opts.codec as StateCodec<unknown> | undefined);
    return {
      get: (key) => this.live(this.need(def, key)) as T | undefined,
      set: (key, value) => this.put(def, key, value),
      clear: (key) => this.put(def, key, undefined),
    };
  }

  map<V>(name: string, opts: StateOptions = {}): MapState<V> {
    const def = this.declare(name, 'map', opts);
    const fields = (key: string) => this.live(this.need(def, key)) as Map<string, V> | undefined;
    return {
      get: (key, field) => fields(key)?.get(field),
      put: (key, field, value) => {
        const m = fields(key) ?? new Map<string, V>();
        m.set(field, value);
        this.put(def, key, m);
      },
      remove: (key, field) => {
        const m = fields(key);
        if (!m?.has(field)) return;
        m.delete(field);
        this.put(def, key, m.size ? m : undefined);
      },
      entries: (key) => [...(fields(key) ?? [])],
      clear: (key) => this.put(def, key, undefined),
    };
  }

  list<T>(name: string, opts: StateOptions = {}): ListState<T> {
    const def = this.declare(name, 'list', opts);
    const items = (key: string) => this.live(this.need(def, key)) as T[] | undefined;
    return {
      get: (key) => items(key) ?? [],
      add: (key, value) => {
        const l = items(key) ?? [];
        l.push(value);
        this.put(def, key, l);
      },
      clear: (key) => this.put(def, key, undefined),
    };
  }

  /**
   * Declares that `state` holds nothing for these keys (the caller knows it, e.g. from an
   * in-memory index of what it stored), so get() works on them without a store read.
   * Keys already cached are left alone.
   */
  assumeAbsent(keys: Iterable<string>, state: string): void {
    const def = this.def(state);
    for (const key of keys) {
      if (def.cache.has(key)) continue;
      const e = this.entry(def, key);
      def.cache.set(key, e);
      e.where = CLEAN;
      this.lruAppend(e);
    }
  }

  /**
   * Reads every prefetched state's entry for these keys (or only the named states) into
   * the cache, in one batched store read; keys already cached cost nothing.
   */
  async load(keys: Iterable<string>, states?: readonly string[]): Promise<void> {
    const p = typeof keys === 'object' ? this.prefetched.get(keys) : undefined;
    if (p !== undefined) {
      this.prefetched.delete(keys);
      // The same key set a prefetch() looked up: if nothing was evicted since, every key it
      // found cached still is, and what it read is cached once its reads end, so the keys
      // need no second lookup (a cold hash lookup per key: most of a hot-key batch's load).
      if (p.states === states && p.removals === this.removals) {
        let failed = false;
        if (p.reads) await p.reads.catch(() => (failed = true));
        if (!failed && p.removals === this.removals) return;
      }
    }
    const defs = this.defsFor(states);
    const list = keys instanceof Set || Array.isArray(keys) ? (keys as Iterable<string>) : [...keys];
    // A key another load (a prefetch) is reading is waited for, not read twice. If that
    // read fails, the key is still missing on the next pass and read here, so the error
    // surfaces to this caller.
    for (let pass = 0; ; pass++) {
      const { missing, waits } = this.missing(list, defs, pass === 0);
      if (!missing.length && !waits.size) return;
      if (missing.length) await this.read(missing);
      if (waits.size) await Promise.all([...waits].map((w) => w.catch(() => undefined)));
    }
  }

  /**
   * Starts reading these keys' entries (every prefetched state's, or the named states')
   * without waiting: a stateful step calls it when a batch is on its way, so the store read
   * overlaps with the work on earlier batches. A later load() of the same keys waits for
   * this read instead of reading again; a failed prefetch is retried by that load.
   */
  prefetch(keys: Iterable<string>, states?: readonly string[]): void {
    // Touches what it finds (as load does): a key whose load() takes the shortcut below is not looked up again.
    const { missing, waits } = this.missing(keys, this.defsFor(states), true);
    let read: Promise<void> | undefined;
    if (missing.length) {
      read = this.read(missing);
      // A failed read surfaces in load(), which then looks the keys up again.
      read.catch(() => undefined);
    }
    // Only when no key waits for an earlier read: that read may skip caching a key evicted
    // before this call (removals would not show it), while this call's own read began after.
    if (typeof keys === 'object' && !waits.size) this.prefetched.set(keys, { states, removals: this.removals, reads: read });
  }

  private defsFor(states: readonly string[] | undefined): StateDef[] {
    return states ? states.map((n) => this.def(n)) : [...this.defs.values()].filter((d) => d.prefetch);
  }

  /** The keys' entries that are neither cached nor being read, and the reads in flight for the others. */
  private missing(keys: Iterable<string>, defs: readonly StateDef[], touch: boolean): { missing: Missing[]; waits: Set<Promise<void>> } {
    const missing: Missing[] = [];
    const waits = new Set<Promise<void>>();
    const one = (key: string): void => {
      let ek: string | undefined;
      for (let i = 0; i < defs.length; i++) {
        const def = defs[i]!;
        const e = def.cache.get(key);
        if (e) {
          if (touch && e.where === CLEAN) this.lruMoveToTail(e);
          continue;
        }
        const w = def.reading.get(key);
        if (w) waits.add(w);
        else missing.push({ def, key, sk: def.prefix + (ek ??= escapeKeyPart(key)) });
      }
    };
    // A Set's keys are distinct already. forEach and indexed loops: a for-of over a Set
    // made an iterator result per key here (this runs for every batch's keys, twice).
    if (keys instanceof Set) (keys as Set<string>).forEach(one);
    else {
      const seen = new Set<string>();
      const list = Array.isArray(keys) ? (keys as string[]) : [...keys];
      for (let i = 0; i < list.length; i++) {
        const key = list[i]!;
        if (seen.has(key)) continue;
        seen.add(key);
        one(key);
      }
    }
    return { missing, waits };
  }

  /** One batched store read; caches what it finds (unless the key was cached or evicted meanwhile). */
  private read(all: Missing[]): Promise<void> {
    let missing = all;
    if (this.overlay) {
      // What the live backend caches (written, drained or clean) is at least as new as the store.
      const rest: Missing[] = [];
      const now = this.clock.now();
      for (const m of missing) {
        const seen = this.overlay.peekStored(m.def.name, m.key);
        if (seen === null) rest.push(m);
        else this.cacheLoaded(m.def, m.key, seen, now);
      }
      missing = rest;
      if (!missing.length) return Promise.resolve();
    }
    const since = this.evictions;
    this.readsInFlight.push(since);
    const done = (async () => {
      const sks = missing.map((m) => m.sk);
      let bufs: (StoredValue | undefined)[];
      try {
        bufs = this.store.getMany ? await this.store.getMany(sks) : await Promise.all(sks.map((k) => this.store.get(k)));
      } catch (err) {
        if (err instanceof SluiceError) throw err;
        throw new SluiceError('STORAGE_ERROR', `reading state of ${this.namespace} failed: ${err instanceof Error ? err.message : String(err)}`, {}, { cause: err });
      }
      const now = this.clock.now();
      for (let i = 0; i < missing.length; i++) {
        const m = missing[i]!;
        // Evicted after this read began: the store may have a newer value than this read saw.
        if ((m.def.evicted.get(m.key) ?? -1) >= since) continue;
        this.cacheLoaded(m.def, m.key, bufs[i], now);
      }
    })();
    for (const m of missing) m.def.reading.set(m.key, done);
    const finish = () => {
      for (const m of missing) if (m.def.reading.get(m.key) === done) m.def.reading.delete(m.key);
      this.readsInFlight.splice(this.readsInFlight.indexOf(since), 1);
      this.forgetEvictions();
    };
    return done.then(finish, (err: unknown) => {
      finish();
      throw err;
    });
  }

  /**
   * Drops eviction marks that no read in flight can need: all of them once no read is in
   * flight, else (while reads overlap without pause) those older than the oldest read once
   * there are many. A mark older than every read in flight never skips anything.
   */
  private forgetEvictions(): void {
    const oldest = this.readsInFlight.length ? Math.min(...this.readsInFlight) : Infinity;
    for (const def of this.defs.values()) {
      if (!def.evicted.size) continue;
      if (oldest === Infinity) def.evicted.clear();
      else if (def.evicted.size > 4096) for (const [key, n] of def.evicted) if (n < oldest) def.evicted.delete(key);
    }
  }

  /** Caches one value read from the store (undefined: absent). */
  private cacheLoaded(def: StateDef, key: string, buf: StoredValue | undefined, now: number): void {
    const cache = def.cache;
    if (cache.has(key)) return; // written (or read by another load) while the read was in flight
    // Decoded before caching: an unreadable value must fail every load that needs it, not leave an empty entry.
    const d = buf === undefined ? undefined : this.decode(def, key, buf);
    // A JSON value is checked only when live: an expired one is deleted unread, as always.
    if (d !== undefined && !d.packed && !(d.expiresAt !== 0 && now >= d.expiresAt)) d.value = this.fromJson(def, key, d.value);
    const e = this.entry(def, key);
    cache.set(key, e);
    if (d !== undefined) {
      e.packed = d.packed;
      if (d.expiresAt !== 0 && now >= d.expiresAt) {
        // Expired on disk: read as absent and delete it with the next commit.
        e.stored = true;
        this.markDirty(e);
        return;
      }
      e.value = d.value;
      e.expiresAt = d.expiresAt;
      e.stored = true;
    }
    e.where = CLEAN;
    this.lruAppend(e);
  }

  /**
   * The stored form of a cached entry, without touching the cache (no LRU move, no
   * load): null when `key` is not cached for `state`, undefined when cached as absent.
   * Lets a read-only view (online requests) see changes not yet committed.
   */
  peekStored(state: string, key: string): string | undefined | null {
    const e = this.defs.get(state)?.cache.get(key);
    if (!e) return null;
    return this.encode(e);
  }

  /** The writes made since the last call (the last write per storage key), then forgets them. */
  drainWrites(): StateWrite[] {
    const seq = ++this.drains;
    const entries = this.dirty;
    const writes: StateWrite[] = [];
    const pending: Entry[] = [];
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const value = this.encode(e);
      if (value === undefined && !e.stored) {
        // Absent before and after: nothing to write. Forgotten rather than cached (a fired
        // window's key would only crowd out live entries; a later read finds it absent).
        e.where = NEW;
        e.def.cache.delete(e.key);
        if (e.def.last === e) e.def.last = undefined;
        this.removals++;
        continue;
      }
      writes.push({ key: storageKey(e), value });
      e.stored = value !== undefined;
      e.where = PENDING;
      e.seq = seq;
      pending.push(e);
    }
    this.dirty = [];
    if (pending.length) {
      this.drained.push({ seq, entries: pending });
      this.pendingCount += pending.length;
    }
    this.evict();
    return writes;
  }

  /** The sequence number of the last drainWrites call (the first call is 1). */
  get lastDrain(): number {
    return this.drains;
  }

  /**
   * Tells the backend that the writes of every drain up to `upTo` (default: all so far)
   * are durable in the store, so their cache entries may be evicted. Until then they stay
   * in memory: with pipelined batches or interval checkpoints, the store lags behind.
   */
  markCommitted(upTo: number = this.drains): void {
    while (this.drained.length && this.drained[0]!.seq <= upTo) this.release(this.drained.shift()!);
    // No eviction here: a commit can land while the operator is between load() and get() for
    // its next batch, and evicting then would drop entries that batch is about to read.
    // The next drainWrites (after that batch) trims the cache.
  }

  /** One committed drain: its entries that are still pending become clean. */
  private release(d: { seq: number; entries: Entry[] }): void {
    for (const e of d.entries) {
      // An entry dirtied (or drained) again since is no longer this drain's: skip it.
      if (e.where !== PENDING || e.seq !== d.seq) continue;
      e.where = CLEAN;
      this.pendingCount--;
      this.lruAppend(e);
    }
  }

  /**
   * Every live entry of one state: the store's entries merged with changes not yet
   * committed (which win), expired ones skipped; store order, then uncommitted-only keys.
   * Yields what get would return: T for value states, T[] for lists, [field, V][] for maps.
   */
  async *entries<T>(name: string): AsyncIterable<[key: string, value: T]> {
    const def = this.def(name);
    const overlay = new Map<string, Entry>();
    for (const d of this.drained) for (const e of d.entries) if (e.def === def && e.where === PENDING && e.seq === d.seq) overlay.set(storageKey(e), e);
    for (const e of this.dirty) if (e.def === def) overlay.set(storageKey(e), e);
    const now = this.clock.now();
    for await (const [sk, buf] of this.store.scan(def.prefix)) {
      const o = overlay.get(sk);
      if (o) {
        overlay.delete(sk);
        const v = this.live(o);
        if (v !== undefined) yield [o.key, view(def, v) as T];
        continue;
      }
      const key = unescapeKeyPart(sk.slice(def.prefix.length));
      const d = this.decode(def, key, buf);
      if (d.expiresAt !== 0 && now >= d.expiresAt) continue;
      yield [key, view(def, d.packed ? d.value : this.fromJson(def, key, d.value)) as T];
    }
    for (const o of overlay.values()) {
      const v = this.live(o);
      if (v !== undefined) yield [o.key, view(def, v) as T];
    }
  }

  /** Cache sizes, for tests and metrics. */
  cacheStats(): { clean: number; dirty: number; pending: number } {
    return { clean: this.lruSize, dirty: this.dirty.length, pending: this.pendingCount };
  }

  // ---- internals ----

  private declare(name: string, kind: Kind, opts: StateOptions, codec?: StateCodec<unknown>): StateDef {
    if (!name) throw new SluiceError('INTERNAL', 'a state name must not be empty');
    const ttlMs = opts.ttlMs ?? 0;
    if (!Number.isFinite(ttlMs) || ttlMs < 0) throw new SluiceError('INTERNAL', `state "${name}": ttlMs must be a non-negative number; got ${String(opts.ttlMs)}`);
    const old = this.defs.get(name);
    if (old) {
      if (old.kind !== kind) throw new SluiceError('INTERNAL', `state "${name}" of ${this.namespace} is already declared as ${old.kind} state, not ${kind}`);
      return old;
    }
    const def: StateDef = { name, kind, ttlMs, prefetch: opts.prefetch ?? true, codec, prefix: `${this.namespace}${escapeKeyPart(name)}/`, cache: new Map(), reading: new Map(), evicted: new Map(), last: undefined };
    this.defs.set(name, def);
    return def;
  }

  private def(name: string): StateDef {
    const def = this.defs.get(name);
    if (!def) throw new SluiceError('INTERNAL', `state "${name}" of ${this.namespace} was never declared; declare it with value(), map() or list() first`);
    return def;
  }

  private need(def: StateDef, key: string): Entry {
    const last = def.last;
    if (last !== undefined && last.key === key) return last;
    const e = def.cache.get(key);
    if (e) def.last = e;
    else {
      throw new SluiceError('INTERNAL', `state "${def.name}" of ${this.namespace} was read for key ${JSON.stringify(key)} before it was loaded; await load(keys) with the batch's keys before reading`);
    }
    return e;
  }

  /** The entry's value, or undefined when absent or expired. */
  private live(e: Entry): unknown {
    if (e.value === undefined) return undefined;
    if (e.expiresAt !== 0 && this.clock.now() >= e.expiresAt) return undefined;
    return e.value;
  }

  private put(def: StateDef, key: string, value: unknown): void {
    const last = def.last;
    let e = last !== undefined && last.key === key ? last : def.cache.get(key);
    if (!e) {
      e = this.entry(def, key);
      e.stored = true; // not read: the store may hold a value, so a clear must be written
      def.cache.set(key, e);
    }
    def.last = e;
    e.value = value;
    e.expiresAt = value !== undefined && def.ttlMs > 0 ? this.clock.now() + def.ttlMs : 0;
    this.markDirty(e);
  }

  /** A new entry, not yet in any list: the caller caches it, then makes it clean (lruAppend) or dirty (markDirty). */
  private entry(def: StateDef, key: string): Entry {
    return { def, key, value: undefined, expiresAt: 0, where: NEW, stored: false, packed: true, seq: 0, prev: null, next: null };
  }

  private markDirty(e: Entry): void {
    if (e.where === DIRTY) return;
    if (e.where === CLEAN) this.lruRemove(e);
    else if (e.where === PENDING) this.pendingCount--; // it stays in its drain's list, where it is now skipped
    e.where = DIRTY;
    this.dirty.push(e);
  }

  /** Evicts the least recently loaded clean entries beyond the bound. */
  private evict(): void {
    for (let over = this.lruSize - this.maxClean; over > 0 && this.lruHead !== null; over--) {
      const e = this.lruHead;
      this.lruRemove(e);
      e.def.cache.delete(e.key);
      if (e.def.last === e) e.def.last = undefined;
      if (this.readsInFlight.length) e.def.evicted.set(e.key, this.evictions);
      this.evictions++;
      this.removals++;
    }
  }

  private lruAppend(e: Entry): void {
    e.prev = this.lruTail;
    e.next = null;
    if (this.lruTail) this.lruTail.next = e;
    else this.lruHead = e;
    this.lruTail = e;
    this.lruSize++;
  }

  private lruRemove(e: Entry): void {
    if (e.prev) e.prev.next = e.next;
    else this.lruHead = e.next;
    if (e.next) e.next.prev = e.prev;
    else this.lruTail = e.prev;
    e.prev = e.next = null;
    this.lruSize--;
  }

  private lruMoveToTail(e: Entry): void {
    if (this.lruTail === e) return;
    this.lruRemove(e);
    this.lruAppend(e);
  }

  private encode(e: Entry): string | undefined {
    const v = e.value;
    if (v === undefined) return undefined;
    const codec = e.def.codec;
    if (codec && e.packed) {
      const w = this.packer;
      w.reset();
      w.char(PACKED);
      w.num(e.expiresAt);
      if (codec.write(v, w)) return w.text();
    }
    const plain = e.def.kind === 'map' ? Object.fromEntries(v as Map<string, unknown>) : v;
    let text: string;
    try {
      text = JSON.stringify(e.expiresAt ? [plain, e.expiresAt] : [plain]);
    } catch (err) {
      throw new SluiceError('INTERNAL', `state "${e.def.name}" of ${this.namespace}, key ${JSON.stringify(e.key)}: the value cannot be stored as JSON (${err instanceof Error ? err.message : String(err)})`);
    }
    return text;
  }

  /**
   * Stored form: JSON `[value]` or `[value, expiresAt]` (maps as objects), or for a state
   * with a codec, PACKED, expiresAt and the codec's text (see packed.ts).
   */
  private decode(def: StateDef, key: string, stored: StoredValue): { value: unknown; expiresAt: number; packed: boolean } {
    const text = typeof stored === 'string' ? stored : stored.toString('utf8');
    if (text.charCodeAt(0) === PACKED) return this.unpack(def, key, text);
    let x: unknown;
    try {
      x = JSON.parse(text);
    } catch (err) {
      throw this.corrupt(def, key, `not JSON (${err instanceof Error ? err.message : String(err)})`);
    }
    if (!Array.isArray(x) || x.length < 1 || x.length > 2 || (x.length === 2 && typeof x[1] !== 'number')) throw this.corrupt(def, key, 'not a state entry');
    const v: unknown = x[0];
    const expiresAt = (x[1] as number | undefined) ?? 0;
    if (def.kind === 'list') {
      if (!Array.isArray(v)) throw this.corrupt(def, key, 'list state that is not a list');
      return { value: v, expiresAt, packed: false };
    }
    if (def.kind === 'map') {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw this.corrupt(def, key, 'map state that is not an object');
      return { value: new Map(Object.entries(v)), expiresAt, packed: false };
    }
    return { value: v, expiresAt, packed: false };
  }

  /** A live value read from a JSON entry, as the state's codec checks (and converts) it; as it is without one. */
  private fromJson(def: StateDef, key: string, v: unknown): unknown {
    return def.codec?.fromJson ? def.codec.fromJson(v, key) : v;
  }

  private unpack(def: StateDef, key: string, text: string): { value: unknown; expiresAt: number; packed: boolean } {
    if (!def.codec) throw this.corrupt(def, key, 'a packed entry, but this state is not stored packed (was the step changed to another kind?)');
    const r = this.reader;
    r.reset(text, 1);
    try {
      const expiresAt = r.num();
      const value = def.codec.read(r);
      if (!r.done) throw new PackError(`${text.length - r.pos} characters left over`);
      return { value, expiresAt, packed: true };
    } catch (err) {
      if (!(err instanceof PackError)) throw err;
      throw this.corrupt(def, key, `not a packed state entry (${err.message})`);
    }
  }

  private corrupt(def: StateDef, key: string, what: string): SluiceError {
    return new SluiceError(
      'STATE_CORRUPT',
      `state "${def.name}" (${this.namespace}) for key ${JSON.stringify(key)} is unreadable: ${what}. The state store is damaged or was written by an incompatible sluice version; to recover, delete the data directory (--data-dir, default ./.sluice) or rerun with --fresh, which discards all state and source positions`,
      { state: def.name, key, namespace: this.namespace },
    );
  }
}

function view(def: StateDef, v: unknown): unknown {
  return def.kind === 'map' ? [...(v as Map<string, unknown>)] : v;
}

/** The entry's key in the store: namespace, state name and record key (see keys.ts). */
function storageKey(e: Entry): string {
  return e.def.prefix + escapeKeyPart(e.key);
}
