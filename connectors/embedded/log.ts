/**
 * The embedded log: what topics are when no Kafka broker is configured (DESIGN §2.7).
 * Durable, partitioned and offset-addressed, in one classic-level (LevelDB) directory.
 *
 * Layout (keys.ts, codec.ts). Records are stored Kafka-style in record batches: each
 * appended batch is ONE LevelDB value under 'b' topic 0x00 partition base-offset, in
 * a compact binary format. One entry per record would cost a LevelDB key, a skiplist
 * node and an iterator step per record; one per batch amortizes all three. Topic
 * metadata ('t') and consumer-group positions ('o') have their own prefixes.
 *
 * Writes. Every write goes through one WriteQueue with group commit (write-queue.ts).
 * Offsets are assigned synchronously when a write is queued, from per-partition
 * `next` counters kept in memory (loaded on open by one reverse seek per partition).
 * Readers see only `end`, which advances after the batch holding the records is
 * written; waiters are woken then. `next` ≥ `end`; the gap is in flight.
 *
 * Durability. By default writes are not fsync'ed: LevelDB has handed them to the OS
 * before they become visible, so they survive a process crash (kill -9) but not a
 * power loss. `{ sync: true }` fsyncs each group commit and survives both.
 *
 * Checkpoints. `commit()` puts output records and consumer positions into one
 * `db.batch()`, which LevelDB applies atomically: this is the engine's exactly-once
 * checkpoint in embedded mode. Everything is validated and encoded before any offset
 * is taken, so a bad commit leaves no trace.
 *
 * Reads. `read(from)` first seeks forward to `from`; if no batch starts exactly
 * there (a reader resuming mid-batch), one reverse seek finds the batch containing
 * it. It then walks batches with nextv(), skipping records before `from` without
 * decoding them. Reads stop at `end`, so an in-flight batch is never half seen.
 *
 * Limits, for now: no retention (startOffset is always 0); offsetForTimestamp scans
 * the partition from the start (each batch header holds its max timestamp, so whole
 * batches are skipped without decoding); the data directory is locked by one process,
 * and opened once within it.
 */
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, realpath } from 'node:fs/promises';
import { ClassicLevel } from 'classic-level';
import { SluiceError } from '../../src/core/errors.js';
import type { LogRecord, StoredLogRecord } from '../../src/core/record.js';
import { batchCount, batchCursor, decodeFrom, encodeBatch, firstAtOrAfter, type BatchCursor } from './codec.js';
import { newPartition, wake, wakeAll, waitFor, type PartitionState } from './partition.js';
import {
  baseOfBatchKey, batchKey, decodeOffset, encodeOffset, KV_PREFIX, kvKey, kvRange, metaKey, metaRange, nameOfKvKey, offsetKey, partitionAndGroupOfOffsetKey,
  partitionRange, topicBatchRange, topicFromMetaKey, topicOffsetRange,
} from './keys.js';
import { murmur2, partitionOfKey } from './partitioner.js';
import { WriteQueue, type WriteOp } from './write-queue.js';

export interface TopicInfo { name: string; partitions: number }
export interface LogAppend { topic: string; partition: number; records: LogRecord[] }
export interface OffsetCommit {
  group: string;
  topic: string;
  partition: number;
  /** The next offset the group will read. */
  offset: number;
}
/** A kv write in the same atomic commit: `value` undefined deletes the key; a string is stored as UTF-8. */
export interface KvWrite { key: string; value: Buffer | string | undefined }
export interface LogCommit { appends?: LogAppend[]; offsets?: OffsetCommit[]; kv?: KvWrite[] }

export interface EmbeddedLogOptions {
  /** fsync every group commit, so that writes also survive a power loss. @defaultValue false */
  sync?: boolean;
  /**
   * LevelDB's block cache in bytes (native memory, not the JS heap): uncompressed table
   * blocks, so reads of keyed state larger than the JS-side cache mostly skip the disk and
   * snappy. @defaultValue 64 MiB
   */
  blockCacheBytes?: number;
  /**
   * LevelDB's memtable size in bytes (native memory; up to two exist while one is
   * flushed, so up to twice this). Bigger memtables mean fewer, larger level-0 files and
   * less compaction work on LevelDB's background thread for keyed-state and topic writes:
   * in stream-stateful (300k users) 64 MiB instead of LevelDB's 4 MiB cut the background
   * thread's CPU per record by about a third and all threads' by 9-13%, for ~50 MiB more
   * peak RSS. The cost: a crash leaves up to this much log for the next open to replay.
   * @defaultValue 64 MiB
   */
  writeBufferBytes?: number;
}

const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;
const MAX_PARTITIONS = 10_000;
const MAX_GROUP_BYTES = 1024;
// An iterator stops filling its buffer past this many bytes; the default (16 KiB)
// would make every nextv() return a single batch.
const READ_HIGH_WATER_BYTES = 8 << 20;
const DEFAULT_BLOCK_CACHE_BYTES = 64 << 20;
const DEFAULT_WRITE_BUFFER_BYTES = 64 << 20;
const TEXT = { keyEncoding: 'utf8', valueEncoding: 'utf8' } as const;

/** Real paths of the logs open in this process (see open()). */
const openDirs = new Set<string>();

interface TopicState { info: TopicInfo; parts: PartitionState[]; roundRobin: number }

type Db = ClassicLevel<Buffer, Buffer>;
type BufferOp = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

export class EmbeddedLog {
  private readonly topics = new Map<string, TopicState>();
  private readonly queue: WriteQueue;
  private closed = false;
  private kvWrites = 0;

  private constructor(
    readonly dir: string,
    private readonly realDir: string,
    private readonly db: Db,
    sync: boolean,
  ) {
    this.queue = new WriteQueue(
      // Passing an options object makes abstract-level copy it into every operation (~4× slower per write), so only pass it to fsync.
      // (Typed as Buffer ops: the kv ops' per-operation utf8 encodings are outside the Db's declared types.)
      (ops) => (sync ? db.batch(ops as BufferOp[], { sync }) : db.batch(ops as BufferOp[])),
      `embedded log at "${dir}"`,
      () => this.rollBackToDurable(),
    );
  }

  /** Opens (creating if needed) the log in `dir`. One process at a time may hold it. */
  static async open(dir: string, options: EmbeddedLogOptions = {}): Promise<EmbeddedLog> {
    let real: string;
    try {
      await mkdir(dir, { recursive: true });
      real = await realpath(dir);
    } catch (err) {
      throw storageError(`cannot create the embedded log directory "${dir}"`, err, dir);
    }
    // LevelDB refuses a second open in the same process, but while refusing it closes
    // a descriptor of the LOCK file, and POSIX then drops the process's lock on it:
    // another process could open the log under our feet. So never ask LevelDB twice.
    if (openDirs.has(real)) {
      throw new SluiceError('STORAGE_ERROR', `embedded log at "${dir}" is already open in this process; close it first or use another data directory`, { path: dir });
    }
    openDirs.add(real);
    try {
      return await EmbeddedLog.openDb(dir, real, options);
    } catch (err) {
      openDirs.delete(real);
      throw err;
    }
  }

  private static async openDb(dir: string, real: string, options: EmbeddedLogOptions): Promise<EmbeddedLog> {
    const db: Db = new ClassicLevel<Buffer, Buffer>(real, { keyEncoding: 'buffer', valueEncoding: 'buffer', cacheSize: options.blockCacheBytes ?? DEFAULT_BLOCK_CACHE_BYTES, writeBufferSize: options.writeBufferBytes ?? DEFAULT_WRITE_BUFFER_BYTES });
    try {
      await db.open();
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      if (cause?.code === 'LEVEL_LOCKED') {
        throw new SluiceError('STORAGE_ERROR', `embedded log at "${dir}" is in use by another process (${cause.message ?? 'locked'}); stop it or use another data directory`, { path: dir }, { cause: err });
      }
      // LevelDB reports a file it may not open as an IO error, like damage; but deleting
      // a healthy log because of its permissions would lose its data: say what it is.
      if (cause?.code === 'LEVEL_IO_ERROR' && (/Permission denied|Read-only file system|Operation not permitted/i.test(cause.message ?? '') || !(await writable(real)))) {
        throw new SluiceError('STORAGE_ERROR', `embedded log at "${dir}": permission denied (${cause.message ?? cause.code}); this process (uid ${process.getuid?.() ?? '?'}) may not write the data directory or its files. Grant it write access (e.g. chown or chmod), or use another --data-dir; the data in it is not damaged`, { path: dir }, { cause: err });
      }
      if (cause?.code === 'LEVEL_CORRUPTION' || cause?.code === 'LEVEL_IO_ERROR') {
        // A damaged directory cannot be opened at all, so --fresh cannot help: say what will.
        throw new SluiceError('STATE_CORRUPT', `embedded log at "${dir}" is damaged and cannot be opened (${cause.message ?? cause.code}); its topics, positions and state are unreadable. To start over, move the directory aside or delete it (then rerun; a backfill starts from the beginning)`, { path: dir }, { cause: err });
      }
      throw storageError(`cannot open the embedded log at "${dir}"`, err, dir);
    }
    const log = new EmbeddedLog(dir, real, db, options.sync ?? false);
    try {
      await log.load();
    } catch (err) {
      await db.close();
      throw storageError(`cannot read the embedded log at "${dir}"`, err, dir);
    }
    return log;
  }

  /** Loads topic metadata and, per partition, the next offset from the last batch. */
  private async load(): Promise<void> {
    for (const [key, value] of await this.db.iterator(metaRange).all()) {
      const name = topicFromMetaKey(key);
      const { partitions } = JSON.parse(value.toString('utf8')) as { partitions: number };
      const parts: PartitionState[] = [];
      for (let p = 0; p < partitions; p++) {
        const last = await this.db.iterator({ ...partitionRange(name, p), reverse: true, limit: 1 }).all();
        const entry = last[0];
        const next = entry === undefined ? 0 : baseOfBatchKey(entry[0]) + batchCount(entry[1]);
        parts.push(newPartition(next));
      }
      this.topics.set(name, { info: { name, partitions }, parts, roundRobin: 0 });
    }
  }

  // ---- topics ----

  /** Creates a topic; idempotent when it exists with the same partition count. */
  async createTopic(name: string, partitions: number): Promise<TopicInfo> {
    this.checkOpen();
    if (typeof name !== 'string' || !TOPIC_NAME.test(name) || name === '.' || name === '..') {
      throw new SluiceError('INVALID_INPUT', `invalid topic name ${JSON.stringify(name)}: use 1 to 249 characters from [A-Za-z0-9._-], not "." or ".."`);
    }
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS) {
      throw new SluiceError('INVALID_INPUT', `topic "${name}": partitions must be an integer from 1 to ${MAX_PARTITIONS}; got ${String(partitions)}`);
    }
    const existing = this.topics.get(name);
    if (existing !== undefined) {
      if (existing.info.partitions !== partitions) {
        throw new SluiceError('INVALID_INPUT', `topic "${name}" already exists with ${existing.info.partitions} partitions; asked for ${partitions}`);
      }
      await this.queue.push([]); // resolves once a create still in flight is durable
      return { ...existing.info };
    }
    const state: TopicState = { info: { name, partitions }, parts: [], roundRobin: 0 };
    for (let p = 0; p < partitions; p++) state.parts.push(newPartition(0));
    // Visible at once, so appends queued right after it are written after it.
    this.topics.set(name, state);
    const value = Buffer.from(JSON.stringify({ partitions }), 'utf8');
    await this.queue.push([{ type: 'put', key: metaKey(name), value }], undefined, () => {
      if (this.topics.get(name) === state) this.topics.delete(name);
    });
    return { ...state.info };
  }

  /** Deletes a topic, its records and its committed offsets, in one atomic batch. */
  async deleteTopic(name: string): Promise<void> {
    this.checkOpen();
    const state = this.topicState(name);
    this.topics.delete(name);
    for (const part of state.parts) wakeAll(part, false);
    await this.queue.barrier(async () => {
      const ops: BufferOp[] = [{ type: 'del', key: metaKey(name) }];
      for (const range of [topicBatchRange(name), topicOffsetRange(name)]) {
        for (const key of await this.db.keys(range).all()) ops.push({ type: 'del', key });
      }
      await this.db.batch(ops);
    });
  }

  topic(name: string): TopicInfo | undefined {
    const state = this.topics.get(name);
    return state === undefined ? undefined : { ...state.info };
  }

  requireTopic(name: string): TopicInfo {
    return { ...this.topicState(name).info };
  }

  listTopics(): TopicInfo[] {
    return [...this.topics.values()].map((t) => ({ ...t.info })).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** Kafka's default partitioner for keyed records (murmur2); round-robin for null keys. */
  partitionFor(topic: string, key: string | Buffer | null): number {
    const state = this.topicState(topic);
    const n = state.info.partitions;
    if (key === null) return state.roundRobin++ % n;
    if (key instanceof Uint8Array) return (murmur2(key) & 0x7fffffff) % n;
    if (typeof key !== 'string') throw new SluiceError('INVALID_INPUT', `topic "${topic}": a record key must be a string, a Buffer or null; got ${typeof key}`);
    return partitionOfKey(key, n);
  }

  // ---- writes ----

  /** Appends records to one partition as one batch; resolves with its base offset once durable. */
  async append(topic: string, partition: number, records: LogRecord[]): Promise<number> {
    const { baseOffsets } = await this.commit({ appends: [{ topic, partition, records }] });
    return baseOffsets[0]!;
  }

  /** Spreads records over partitions by key and appends them all in one atomic commit. */
  async produce(topic: string, records: LogRecord[]): Promise<void> {
    const byPartition = new Map<number, LogRecord[]>();
    for (const record of records) {
      const p = this.partitionFor(topic, record.key);
      const list = byPartition.get(p);
      if (list === undefined) byPartition.set(p, [record]);
      else list.push(record);
    }
    const appends: LogAppend[] = [];
    for (const [partition, list] of byPartition) appends.push({ topic, partition, records: list });
    await this.commit({ appends });
  }

  /**
   * One atomic write of output records and consumer positions. `baseOffsets[i]` is the
   * base offset of `appends[i]`. Resolves once durable and visible to readers.
   */
  async commit(tx: LogCommit): Promise<{ baseOffsets: number[] }> {
    this.checkOpen();
    const appends = tx.appends ?? [];
    // Validate and encode everything before taking any offset.
    const prepared = appends.map((a) => {
      const part = this.partitionState(a.topic, a.partition);
      if (!Array.isArray(a.records)) {
        throw new SluiceError('INVALID_INPUT', `append to topic "${a.topic}" partition ${a.partition}: records must be an array`);
      }
      const value = a.records.length === 0 ? undefined : encodeBatch(a.records, `topic "${a.topic}" partition ${a.partition}`);
      return { a, part, value };
    });
    const ops: WriteOp[] = [];
    for (const o of tx.offsets ?? []) ops.push(this.offsetOp(o));
    for (const w of tx.kv ?? []) {
      const key = KV_PREFIX + w.key;
      if (w.value === undefined) ops.push({ type: 'del', key, keyEncoding: 'utf8' });
      else ops.push({ type: 'put', key, value: w.value, keyEncoding: 'utf8', valueEncoding: typeof w.value === 'string' ? 'utf8' : 'buffer' });
    }

    const baseOffsets: number[] = [];
    const published: { part: PartitionState; end: number }[] = [];
    for (const { a, part, value } of prepared) {
      const base = part.next;
      baseOffsets.push(base);
      if (value === undefined) continue;
      part.next += a.records.length;
      part.batchHint = a.records.length;
      ops.push({ type: 'put', key: batchKey(a.topic, a.partition, base), value });
      published.push({ part, end: part.next });
    }
    const kv = (tx.kv?.length ?? 0) > 0;
    await this.queue.push(ops, () => {
      if (kv) this.kvWrites++;
      for (const { part, end } of published) {
        part.end = end;
        wake(part);
      }
    });
    return { baseOffsets };
  }

  private offsetOp(o: OffsetCommit): WriteOp {
    this.partitionState(o.topic, o.partition);
    checkGroup(o.group);
    if (!Number.isSafeInteger(o.offset) || o.offset < 0) {
      throw new SluiceError('INVALID_INPUT', `offset commit for group "${o.group}" topic "${o.topic}" partition ${o.partition}: offset must be a non-negative integer; got ${String(o.offset)}`);
    }
    return { type: 'put', key: offsetKey(o.group, o.topic, o.partition), value: encodeOffset(o.offset) };
  }

  /** After a failed write every queued write failed too: hand out offsets from what is durable. */
  private rollBackToDurable(): void {
    for (const t of this.topics.values()) for (const part of t.parts) part.next = part.end;
  }

  /**
   * Changes each time a commit with kv writes has landed (kv is written nowhere else, and one
   * process at a time holds the log): a kv read that began and ended at the same version
   * still holds until it changes.
   */
  kvVersion(): number {
    return this.kvWrites;
  }

  /** A kv value committed with commit({ kv }), or undefined. */
  async getKv(key: string): Promise<Buffer | undefined> {
    this.checkOpen();
    const v = (await this.db.get(kvKey(key))) as Buffer | Uint8Array | undefined;
    return v === undefined ? undefined : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  }

  /** Many kv values in one LevelDB round trip, in the order asked, as UTF-8 text (decoded natively: no Buffer per value). */
  async getManyKvText(keys: string[]): Promise<(string | undefined)[]> {
    this.checkOpen();
    const names = new Array<string>(keys.length);
    for (let i = 0; i < keys.length; i++) names[i] = KV_PREFIX + keys[i]!;
    return (await this.db.getMany(names as unknown as Buffer[], TEXT)) as unknown as (string | undefined)[];
  }

  /** Deletes every kv entry whose key starts with `prefix` (in atomic chunks); returns how many. */
  async deleteKvPrefix(prefix: string): Promise<number> {
    let n = 0;
    let chunk: { key: string; value: undefined }[] = [];
    for await (const [key] of this.scanKv(prefix)) {
      chunk.push({ key, value: undefined });
      if (chunk.length === 10_000) {
        await this.commit({ kv: chunk });
        n += chunk.length;
        chunk = [];
      }
    }
    if (chunk.length) await this.commit({ kv: chunk });
    return n + chunk.length;
  }

  /** Every kv entry whose key starts with `prefix`, in key order. */
  async *scanKv(prefix: string): AsyncGenerator<[string, Buffer]> {
    this.checkOpen();
    for await (const [k, v] of this.db.iterator(kvRange(prefix))) {
      const key = k as Buffer | Uint8Array;
      const value = v as Buffer | Uint8Array;
      yield [nameOfKvKey(Buffer.from(key.buffer, key.byteOffset, key.byteLength)), Buffer.from(value.buffer, value.byteOffset, value.byteLength)];
    }
  }

  // ---- reads ----

  /** Up to `maxRecords` records from offset `from`, only those already durable. */
  async read(topic: string, partition: number, from: number, maxRecords: number): Promise<StoredLogRecord[]> {
    this.checkOpen();
    const part = this.partitionState(topic, partition);
    const end = part.end;
    this.checkOffset(topic, partition, from, end);
    if (!Number.isInteger(maxRecords) || maxRecords < 0) {
      throw new SluiceError('INVALID_INPUT', `read of topic "${topic}" partition ${partition}: maxRecords must be a non-negative integer; got ${String(maxRecords)}`);
    }
    const limit = Math.min(maxRecords, end - from);
    const out: StoredLogRecord[] = [];
    if (limit === 0) return out;
    let next = from; // first offset not yet looked up in LevelDB
    const cached = part.cursor;
    if (cached !== undefined && cached.base <= from && from < cached.base + cached.count) {
      this.take(part, cached, from, limit, out);
      next = cached.base + cached.count;
    }
    if (out.length < limit) {
      try {
        await this.readBatches(topic, partition, part, from, next, end, limit, out);
      } catch (err) {
        throw storageError(`read of topic "${topic}" partition ${partition} at offset ${from} failed`, err, this.dir);
      }
    }
    return out;
  }

  /** Decodes batches from LevelDB, starting with the batch that holds offset `next`. */
  private async readBatches(
    topic: string, partition: number, part: PartitionState,
    from: number, next: number, end: number, limit: number, out: StoredLogRecord[],
  ): Promise<void> {
    const it = this.db.iterator({
      gte: batchKey(topic, partition, next),
      lt: batchKey(topic, partition, end),
      highWaterMarkBytes: READ_HIGH_WATER_BYTES,
    });
    try {
      let first = true;
      while (out.length < limit) {
        const want = Math.min(64, Math.max(1, Math.ceil((limit - out.length) / part.batchHint)));
        const entries = await it.nextv(want);
        if (first) {
          first = false;
          const head = entries[0];
          // No batch starts at `next`: it lies inside the batch before (a reader resuming mid-batch).
          if (head === undefined || baseOfBatchKey(head[0]) > next) {
            const [entry] = await this.db
              .iterator({ gte: batchKey(topic, partition, 0), lt: batchKey(topic, partition, next), reverse: true, limit: 1 })
              .all();
            if (entry !== undefined) this.take(part, batchCursor(entry[1], baseOfBatchKey(entry[0])), from, limit, out);
          }
        }
        for (const [key, value] of entries) {
          if (out.length >= limit) break;
          this.take(part, batchCursor(value, baseOfBatchKey(key)), from, limit, out);
        }
        // nextv may return fewer than asked (byte high-water mark): only none means the end.
        if (entries.length === 0) break;
      }
    } finally {
      await it.close();
    }
  }

  /** Decodes from one batch and remembers it if the reader stopped inside it. */
  private take(part: PartitionState, c: BatchCursor, from: number, limit: number, out: StoredLogRecord[]): void {
    decodeFrom(c, from, limit, out);
    part.batchHint = Math.max(1, c.count);
    part.cursor = c.offset < c.base + c.count ? c : undefined;
  }

  /** Next offset that is durable and visible to readers. */
  endOffset(topic: string, partition: number): number {
    return this.partitionState(topic, partition).end;
  }

  /** First offset still stored: always 0 until retention exists. */
  startOffset(topic: string, partition: number): number {
    this.partitionState(topic, partition);
    return 0;
  }

  /** As Kafka's ListOffsets: the first offset, scanning forward, whose timestamp is >= ts; else the end offset. */
  async offsetForTimestamp(topic: string, partition: number, ts: number): Promise<number> {
    this.checkOpen();
    const part = this.partitionState(topic, partition);
    if (typeof ts !== 'number' || Number.isNaN(ts)) {
      throw new SluiceError('INVALID_INPUT', `offsetForTimestamp on topic "${topic}" partition ${partition}: timestamp must be a number (epoch ms); got ${String(ts)}`);
    }
    const end = part.end;
    if (end === 0) return 0;
    const it = this.db.iterator({
      gte: batchKey(topic, partition, 0),
      lt: batchKey(topic, partition, end),
      highWaterMarkBytes: READ_HIGH_WATER_BYTES,
    });
    try {
      for (;;) {
        const entries = await it.nextv(64);
        if (entries.length === 0) return end;
        for (const [key, value] of entries) {
          const offset = firstAtOrAfter(value, baseOfBatchKey(key), ts);
          if (offset >= 0) return offset;
        }
      }
    } catch (err) {
      throw storageError(`offsetForTimestamp on topic "${topic}" partition ${partition} failed`, err, this.dir);
    } finally {
      await it.close();
    }
  }

  async committedOffset(group: string, topic: string, partition: number): Promise<number | undefined> {
    this.checkOpen();
    this.partitionState(topic, partition);
    checkGroup(group);
    try {
      const value = await this.db.get(offsetKey(group, topic, partition));
      return value === undefined ? undefined : decodeOffset(value);
    } catch (err) {
      throw storageError(`reading the offset of group "${group}" on topic "${topic}" partition ${partition} failed`, err, this.dir);
    }
  }

  /** Every group's committed offsets on `topic`: group → partition → offset (for `sluice topics describe`). */
  async groupOffsets(topic: string): Promise<Map<string, Map<number, number>>> {
    this.checkOpen();
    this.requireTopic(topic);
    const out = new Map<string, Map<number, number>>();
    try {
      for (const [key, value] of await this.db.iterator(topicOffsetRange(topic)).all()) {
        const { partition, group } = partitionAndGroupOfOffsetKey(topic, key);
        let byPartition = out.get(group);
        if (!byPartition) out.set(group, (byPartition = new Map()));
        byPartition.set(partition, decodeOffset(value));
      }
    } catch (err) {
      throw storageError(`reading the committed offsets of topic "${topic}" failed`, err, this.dir);
    }
    return out;
  }

  /**
   * Resolves true as soon as `endOffset > offset`, false on timeout, abort, topic
   * deletion or close. Woken by the write path, no polling.
   */
  waitForAppend(topic: string, partition: number, offset: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const part = this.partitionState(topic, partition);
    if (part.end > offset) return Promise.resolve(true);
    if (this.closed || signal?.aborted === true || !(timeoutMs > 0)) return Promise.resolve(false);
    return waitFor(part, offset, timeoutMs, signal);
  }

  /** Waits for queued writes, wakes every waiter with false, and closes the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.drain();
    for (const t of this.topics.values()) for (const part of t.parts) wakeAll(part, false);
    try {
      await this.db.close();
    } finally {
      openDirs.delete(this.realDir);
    }
  }

  // ---- helpers ----

  private checkOpen(): void {
    if (this.closed) throw new SluiceError('STORAGE_ERROR', `embedded log at "${this.dir}" is closed`, { path: this.dir });
  }

  private topicState(name: string): TopicState {
    const state = this.topics.get(name);
    if (state !== undefined) return state;
    const names = [...this.topics.keys()].sort();
    const known = names.length === 0 ? 'there are no topics' : `existing topics: ${names.join(', ')}`;
    throw new SluiceError('NOT_FOUND', `topic "${name}" does not exist in the embedded log at "${this.dir}" (${known}); create it first`);
  }

  private partitionState(topic: string, partition: number): PartitionState {
    const state = this.topicState(topic);
    const part = Number.isInteger(partition) ? state.parts[partition] : undefined;
    if (part === undefined) {
      throw new SluiceError('INVALID_INPUT', `topic "${topic}" has no partition ${String(partition)}; valid partitions are 0 to ${state.info.partitions - 1}`);
    }
    return part;
  }

  private checkOffset(topic: string, partition: number, from: number, end: number): void {
    if (!Number.isSafeInteger(from) || from < 0 || from > end) {
      throw new SluiceError('INVALID_INPUT', `topic "${topic}" partition ${partition}: offset ${String(from)} is out of range; valid offsets are 0 to ${end} (the end)`);
    }
  }
}

function checkGroup(group: string): void {
  if (typeof group !== 'string' || group.length === 0 || Buffer.byteLength(group) > MAX_GROUP_BYTES) {
    throw new SluiceError('INVALID_INPUT', `consumer group must be a non-empty string of at most ${MAX_GROUP_BYTES} bytes; got ${JSON.stringify(group)}`);
  }
}

function storageError(message: string, err: unknown, dir: string): SluiceError {
  if (err instanceof SluiceError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new SluiceError('STORAGE_ERROR', `${message}: ${detail}`, { path: dir }, { cause: err });
}

/** Whether this process may write the directory (false on EACCES, EROFS, ...). */
async function writable(dir: string): Promise<boolean> {
  try {
    await access(dir, fsConstants.W_OK);
    return true;
  } catch {
    return false;
  }
}
