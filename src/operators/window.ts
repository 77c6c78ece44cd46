import { Type, type Static } from '@sinclair/typebox';
import { SluiceError, ensureError } from '../core/errors.js';
import type { ColumnarBatch } from '../core/columns.js';
import type { SourcePosition, StreamRecord } from '../core/record.js';
import { compileExpression, type Expression } from '../expr/index.js';
import { AggregatesSchema, addInputs, addInputsOwned, checkState, compileAggregates, mergeStates, resultOf, type AggregateState, type CompiledAggregate } from '../state/accumulators.js';
import type { KeyedStateBackend, ValueState, ValueStateOptions } from '../state/backend.js';
import { DURATION_HELP, DurationSchema, parseDuration } from '../state/duration.js';
import { TimerIndex } from '../state/timers.js';
import { WatermarkTracker, type WatermarkSnapshot } from '../state/watermark.js';
import { mergeWindow, session, sliding, tumbling, type TimeWindow, type WindowAssigner } from '../state/windows.js';
import { stepSchema } from '../topology/schema.js';
import { checkAggregates, keysOf, needsKey, readInputs, readInputsAt, requireDuration } from './aggregate.js';
import { ColumnRows, ResultColumns } from './columnar.js';
import { FAILED, describeValue } from './eval.js';
import type { Operator, OperatorContext, OperatorSpec } from './operator.js';
import { KeyWindows, keyWindowsCodec, type PendingWindow, type StoredPending } from './window-pending.js';
import { closedHorizon, enrichEnd, isClosedList, keepClosed, type ClosedWindow } from './window-enrich.js';

const closed = { additionalProperties: false } as const;

const schema = stepSchema({
  /** `{ tumbling: "1h" }`, `{ sliding: { size: "3h", slide: "1h" } }` or `{ session: { gap: "30m" } }`. */
  window: Type.Union([
    Type.Object({ tumbling: DurationSchema }, closed),
    Type.Object({ sliding: Type.Object({ size: DurationSchema, slide: DurationSchema }, closed) }, closed),
    Type.Object({ session: Type.Object({ gap: DurationSchema }, closed) }, closed),
  ]),
  /** Output field → aggregate, as in the aggregate step. */
  aggregates: AggregatesSchema,
  /** Expression for the event time (epoch ms or ISO-8601 text). Default: the record's timestamp. */
  eventTime: Type.Optional(Type.String({ minLength: 1 })),
  /** How far behind the newest event time records may arrive. Default 0. */
  maxOutOfOrderness: Type.Optional(DurationSchema),
  /** How long after its end (in event time) a window still takes records; it is emitted once this has passed. Default 0. */
  allowedLateness: Type.Optional(DurationSchema),
  /** Processing-time silence after which the watermark advances with processing time (see WatermarkTracker). Default: never. */
  idleTimeout: Type.Optional(DurationSchema),
  /** Where records for already closed windows go: "deadLetter" (default) or a sink name. */
  late: Type.Optional(Type.String({ minLength: 1 })),
  /**
   * What the step sends on:
   * - "close" (default): one record per window when it closes;
   * - "update": also one per record, with the window(s) it changed so far;
   * - "enrich": the input records themselves, never window results. Each record gets every
   *   aggregate field set from ITS KEY's window [E - size, E) that ends at the start of the
   *   record's current slide: for event time t, E = floor(t / slide) * slide (slide = size
   *   for tumbling windows; when size is not a multiple of slide, E is the latest window
   *   end <= t). The value covers the key's records in that window that came before this
   *   one: read from the pending window while it has not fired, else from the key's kept
   *   fired windows (value state "closed", pruned once no accepted record can read them);
   *   with no such record every field is null (count included). A record is read first and
   *   then added to its own windows, so it never sees itself. Windows still fire (and are
   *   removed) on the watermark, but are not emitted: they only feed later records. When
   *   records arrive in event-time order the window read is complete, so the value is a
   *   function of the input alone: the same in a backfill, a stream (one task per key) and
   *   a training script; with any input order it does not depend on batch boundaries or
   *   restarts. Late records (every window closed) go where `late` says, not enriched;
   *   records whose aggregate inputs fail are dead-lettered. Not for session windows;
   *   `keyFields` does not apply.
   */
  emit: Type.Optional(Type.Union([Type.Literal('close'), Type.Literal('update'), Type.Literal('enrich')])),
  /** Fields copied from the first record of each window into its result (e.g. the fields the key is made of). Default: a `key` field with the record key. */
  keyFields: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
});
type WindowConfig = Static<typeof schema>;

const RESERVED = ['window_start', 'window_end'];

export const windowOperator: OperatorSpec<WindowConfig> = {
  kind: 'window',
  schema,
  check(config: WindowConfig, ctx) {
    const w = config.window;
    const durations: [string[], unknown][] = [
      [['maxOutOfOrderness'], config.maxOutOfOrderness],
      [['allowedLateness'], config.allowedLateness],
      [['idleTimeout'], config.idleTimeout],
      ...('tumbling' in w ? [[['window', 'tumbling'], w.tumbling] as [string[], unknown]] : []),
      ...('sliding' in w ? [[['window', 'sliding', 'size'], w.sliding.size], [['window', 'sliding', 'slide'], w.sliding.slide]] as [string[], unknown][] : []),
      ...('session' in w ? [[['window', 'session', 'gap'], w.session.gap] as [string[], unknown]] : []),
    ];
    for (const [path, v] of durations) if (v !== undefined && parseDuration(v) === undefined) ctx.issue(path, `${JSON.stringify(v)} is not a duration; ${DURATION_HELP}`);
    if ('tumbling' in w && parseDuration(w.tumbling) === 0) ctx.issue(['window', 'tumbling'], 'a window size must be more than 0');
    if ('session' in w && parseDuration(w.session.gap) === 0) ctx.issue(['window', 'session', 'gap'], 'a session gap must be more than 0');
    if ('sliding' in w) {
      const size = parseDuration(w.sliding.size);
      const slide = parseDuration(w.sliding.slide);
      if (size !== undefined && slide !== undefined && !(slide > 0 && slide <= size)) ctx.issue(['window', 'sliding'], `slide must be more than 0 and at most size (${size} ms); got ${slide} ms`);
    }
    const enrich = config.emit === 'enrich';
    if (enrich && 'session' in w) ctx.issue(['emit'], 'emit: enrich needs tumbling or sliding windows; session windows have no fixed "previous window" to read');
    if (enrich && config.keyFields !== undefined) ctx.issue(['keyFields'], 'keyFields shapes window results, which emit: enrich does not send; remove it');
    const outFields = enrich ? [] : [...RESERVED, ...(config.keyFields ?? ['key'])];
    checkAggregates(config.aggregates, ctx, outFields);
    if (config.eventTime !== undefined) ctx.expression(['eventTime'], config.eventTime);
    if (config.late !== undefined && config.late !== 'deadLetter') ctx.requireSink(['late'], config.late);
  },
  create(config, deps, id) {
    const w = config.window;
    const ms = (v: string | number | undefined, what: string) => (v === undefined ? 0 : requireDuration(v, what, id));
    const assigner =
      'tumbling' in w ? tumbling(ms(w.tumbling, 'window.tumbling')) : 'sliding' in w ? sliding(ms(w.sliding.size, 'window.sliding.size'), ms(w.sliding.slide, 'window.sliding.slide')) : session(ms(w.session.gap, 'window.session.gap'));
    const emit = config.emit ?? 'close';
    if (emit === 'enrich' && 'session' in w) throw new SluiceError('INVALID_TOPOLOGY', `step "${id}": emit: enrich needs tumbling or sliding windows, not session windows`, { operator: id });
    const sizeMs = 'tumbling' in w ? ms(w.tumbling, 'window.tumbling') : 'sliding' in w ? ms(w.sliding.size, 'window.sliding.size') : 0;
    const slideMs = 'sliding' in w ? ms(w.sliding.slide, 'window.sliding.slide') : sizeMs;
    return new WindowOperator(id, deps.state(id), {
      upstreams: deps.upstreams,
      assigner,
      sizeMs,
      slideMs,
      gapMs: 'session' in w ? ms(w.session.gap, 'window.session.gap') : 0,
      aggs: compileAggregates(config.aggregates),
      eventTime: config.eventTime === undefined ? undefined : compileExpression(config.eventTime),
      maxOutOfOrdernessMs: ms(config.maxOutOfOrderness, 'maxOutOfOrderness'),
      allowedLatenessMs: ms(config.allowedLateness, 'allowedLateness'),
      idleTimeoutMs: config.idleTimeout === undefined ? undefined : ms(config.idleTimeout, 'idleTimeout'),
      late: config.late ?? 'deadLetter',
      emit,
      keyFields: config.keyFields,
    });
  },
};

interface WindowOptions {
  /** After a repartition hop: the upstream tasks (the watermark follows the slowest). */
  upstreams: readonly string[] | undefined;
  assigner: WindowAssigner;
  /** Tumbling and sliding windows: size and slide (slide = size for tumbling); 0 for sessions. */
  sizeMs: number;
  slideMs: number;
  gapMs: number;
  aggs: CompiledAggregate[];
  eventTime: Expression | undefined;
  maxOutOfOrdernessMs: number;
  allowedLatenessMs: number;
  idleTimeoutMs: number | undefined;
  late: string;
  emit: 'close' | 'update' | 'enrich';
  keyFields: string[] | undefined;
}

/** A key's windows for one slide, as its last record found them (enrich on columns). */
interface Cursor {
  /** The slide: the start of the latest window holding the record. */
  latest: number;
  /** The key's cached windows object the windows below belong to. */
  pending: KeyWindows;
  /** The slide's open windows, earliest first, and the end of the earliest. */
  wins: PendingWindow[];
  firstEnd: number;
  /** What records of this slide read: the previous window's results in aggregate order, or undefined for none. */
  prev: unknown[] | undefined;
  /** The batch (see WindowOperator.batchSeq) in which the cursor was last checked against the cache and its windows set. */
  seq: number;
}

/** Window results carry one of two shared (never mutated) headers. */
const HEADERS = { update: Object.freeze({ 'sluice-window': 'update' }), final: Object.freeze({ 'sluice-window': 'final' }) };

/** The task's event-time progress, stored under one fixed state key. */
interface Progress {
  watermark: WatermarkSnapshot;
  position: SourcePosition | null;
}

const ISO_PREFIX = /^\d{4}-\d{2}-\d{2}/;

/**
 * Event-time windows per record key. Pending windows and their accumulators are keyed
 * state (value state "windows": key → {window start: {end, acc, fields}}); the watermark
 * is state "progress" under one task-wide key. Which windows are due comes from an
 * in-memory timer index, rebuilt on first use from a scan of "windows" (pending windows
 * only), so firing never scans keys. Per record: lateness is judged against the
 * watermark before the record, then the record moves the watermark; windows that closed
 * are emitted at the end of the batch (a session about to absorb a closed one emits it
 * first), so the results do not depend on where batches begin and end.
 *
 * emit: enrich passes the input records on instead, each with its key's previous window
 * (see the schema): read from "windows" while that window is pending, else from value
 * state "closed" (key → the key's fired windows that a record not yet late could still
 * read, oldest first: [{end, acc}]), which firing fills instead of emitting.
 */
class WindowOperator implements Operator {
  readonly kind = 'window';
  private readonly tracker: WatermarkTracker;
  private readonly timers = new TimerIndex();
  /** A key's pending windows: KeyWindows once touched, the stored object as read until then (see pendingOf). */
  private readonly windows: ValueState<KeyWindows | StoredPending>;
  private readonly progress: ValueState<Progress>;
  private readonly closed: ValueState<ClosedWindow[]> | undefined;
  private readonly enrich: boolean;
  /** The states a batch's keys need. */
  private readonly keyedStates: string[];
  private position: SourcePosition | null = null;
  private ready: Promise<void> | undefined;
  /** For error messages, and one inputs array reused record after record. */
  private readonly what: string;
  private readonly scratch: unknown[];
  /** enrich on columns: per key, what its last record found (see readAndAdd). Never stored. */
  private readonly cursors = new Map<string, Cursor>();
  /** Whether init() has finished (the timer index is complete). */
  private initialized = false;
  /** Kept-window lists of this step's own state known to be well formed (built here, or read and checked): closedOf checks each list once. */
  private readonly checkedLists = new WeakSet<ClosedWindow[]>();
  /** Counts enrichColumns batches: a cursor checked in this batch needs no check again (see readAndAdd). */
  private batchSeq = 0;
  /** Keys prefetch collected, by batch, taken by the step when it runs that batch (the chain prefetches a batch just before running it). */
  private readonly prefetchedKeys = new WeakMap<StreamRecord[] | ColumnarBatch, Set<string>>();
  /** In enrich mode records pass through with the aggregates set: columnar batches stay columnar. */
  readonly processColumns?: (batch: ColumnarBatch, ctx: OperatorContext) => Promise<ColumnarBatch>;

  constructor(
    readonly id: string,
    private readonly backend: KeyedStateBackend,
    private readonly o: WindowOptions,
  ) {
    this.tracker = new WatermarkTracker({ maxOutOfOrdernessMs: o.maxOutOfOrdernessMs, ...(o.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: o.idleTimeoutMs }), ...(o.upstreams ? { upstreams: o.upstreams } : {}) });
    this.what = `window "${id}"`;
    this.windows = backend.value<KeyWindows | StoredPending>('windows', this.windowsOptions());
    this.scratch = new Array<unknown>(o.aggs.length);
    this.progress = backend.value<Progress>('progress', { prefetch: false });
    this.enrich = o.emit === 'enrich';
    this.closed = this.enrich ? backend.value<ClosedWindow[]>('closed') : undefined;
    this.keyedStates = this.enrich ? ['windows', 'closed'] : ['windows'];
    if (this.enrich) this.processColumns = (batch, ctx) => this.enrichColumns(batch, ctx);
  }

  async process(batch: StreamRecord[], ctx: OperatorContext): Promise<StreamRecord[]> {
    await this.init(ctx.clock.now());
    await this.loadKeys(this.keysOf(batch));
    const out: StreamRecord[] = [];
    const late: StreamRecord[] = [];
    const now = ctx.clock.now();
    // Indexed loops in this step's per-record paths: for-of made an iterator result per record.
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      const key = r.key;
      if (key === null) {
        ctx.deadLetter(r, needsKey('window', this.id));
        continue;
      }
      const t = this.eventTime(r, ctx);
      if (t === FAILED) continue;
      const wm = this.tracker.watermark;
      const accepted = this.enrich ? this.enrichAndAdd(key, t, wm, r, ctx, out) : this.o.assigner.kind === 'session' ? this.addToSession(key, t, wm, r, ctx, out) : this.addToWindows(key, t, wm, r, ctx, out);
      if (accepted === 'late') {
        if (this.o.late === 'deadLetter') ctx.deadLetter(r, this.lateError(t, wm));
        else late.push(r);
      }
      this.tracker.observe(t, now, r.origin);
      this.position = r.position;
    }
    if (late.length) ctx.emit(this.o.late, late);
    this.saveProgress();
    await this.fireDue(out);
    return out;
  }

  /**
   * emit: enrich on a columnar batch: the same work as process(), row by row in the same
   * order, but reading event times and aggregate inputs from the columns (whole columns
   * where the vector evaluator covers them) and writing the aggregate fields as columns,
   * with no object per row. Dead letters and late records get their whole row.
   */
  private async enrichColumns(batch: ColumnarBatch, ctx: OperatorContext): Promise<ColumnarBatch> {
    await this.init(ctx.clock.now());
    const n = batch.rows;
    const keys = batch.keys;
    if (keys) await this.loadKeys(this.keysOf(batch));
    const aggs = this.o.aggs;
    const rows = new ColumnRows(batch, [this.o.eventTime, ...aggs.map((a) => a.expr)]);
    const results = new ResultColumns(aggs.map((a) => a.name), n);
    const keep = new Uint8Array(n);
    const inputs = new Array<unknown>(aggs.length);
    const late: StreamRecord[] = [];
    const now = ctx.clock.now();
    let lastRow = -1;
    // No await from here to the end of the loop: nothing else touches this step's state meanwhile.
    this.batchSeq++;
    for (let i = 0; i < n; i++) {
      const key = keys ? keys[i]! : null;
      if (key === null) {
        ctx.deadLetter(batch.record(i), needsKey('window', this.id));
        continue;
      }
      const t = this.eventTimeAt(rows, i, batch, ctx);
      if (t === FAILED) continue;
      const wm = this.tracker.watermark;
      if (this.isLate(t, wm)) {
        if (this.o.late === 'deadLetter') ctx.deadLetter(batch.record(i), this.lateError(t, wm));
        else late.push(batch.record(i));
      } else if (readInputsAt(aggs, rows, 1, i, batch, ctx, this.what, inputs)) {
        const prev = this.readAndAdd(key, t, wm, inputs);
        if (prev !== undefined) for (let k = 0; k < prev.length; k++) results.set(k, i, prev[k]);
        keep[i] = 1;
      }
      this.tracker.observe(t, now);
      lastRow = i;
    }
    if (lastRow >= 0) this.position = batch.position(lastRow);
    if (late.length) ctx.emit(this.o.late, late);
    this.saveProgress();
    await this.fireDue([]);
    results.write(batch, keep);
    return batch.select(keep);
  }

  /** Starts reading the pending windows of the batch's keys that have some (see loadKeys), once the timer index is built. */
  prefetch(batch: StreamRecord[] | ColumnarBatch): void {
    if (!this.initialized) return;
    const keys = keysOf(batch);
    this.prefetchedKeys.set(batch, keys);
    const pending: string[] = [];
    for (const k of keys) if (this.timers.hasKey(k)) pending.push(k);
    this.backend.prefetch(pending, ['windows']);
    if (this.enrich) this.backend.prefetch(keys, ['closed']);
  }

  /**
   * enrich on columns: reads the key's previous window (see previousWindow) and adds the
   * inputs to the record's open windows; returns the previous window's results. Records
   * of one key and slide in a row are common, so what a record found is kept as the key's
   * cursor and reused by the next record of the same slide, while it is still valid: the
   * same cached windows object (not evicted and reloaded: checked once per batch, since
   * eviction happens only between batches), no window of the key created or removed since
   * (both drop the cursor), and the earliest of its windows still open. Only when size is
   * a multiple of slide, where a slide fixes both the windows a record joins and the one it
   * reads. The previous window's results are computed once per cursor: nothing adds to
   * that window while the cursor lives (a record that would is of another slide, which
   * replaces the cursor first).
   */
  private readAndAdd(key: string, t: number, wm: number, inputs: readonly unknown[]): unknown[] | undefined {
    const c = this.cursors.get(key);
    // t in [latest, latest + slide): the record's slide is the cursor's (no modulo per record).
    if (c !== undefined && t >= c.latest && t < c.latest + this.o.slideMs && !this.isClosed(c.firstEnd, wm) && (c.seq === this.batchSeq || this.recheck(key, c))) {
      for (let j = 0; j < c.wins.length; j++) addInputsOwned(this.o.aggs, c.wins[j]!.acc, inputs, t);
      return c.prev;
    }
    const latest = this.latestStart(t);
    const acc = this.previousWindow(key, enrichEnd(t, this.o.sizeMs, this.o.slideMs));
    const prev = acc === undefined ? undefined : this.o.aggs.map((a) => resultOf(a, acc));
    this.addInputsTo(key, t, wm, inputs, undefined, undefined);
    if (this.o.sizeMs % this.o.slideMs === 0) {
      const now = this.pendingOf(key)!;
      const wins: PendingWindow[] = [];
      for (let start = latest - this.o.sizeMs + this.o.slideMs; start <= latest; start += this.o.slideMs) {
        const w = now.get(start);
        if (w && !this.isClosed(w.end, wm)) wins.push(w);
      }
      if (wins.length) this.cursors.set(key, { latest, pending: now, wins, firstEnd: wins[0]!.end, prev, seq: this.batchSeq });
    }
    return prev;
  }

  /** A cursor made in an earlier batch: still valid if the key's cached windows are the same object; then sets them (to be written) for this batch. */
  private recheck(key: string, c: Cursor): boolean {
    if (this.pendingOf(key) !== c.pending) return false;
    this.windows.set(key, c.pending);
    c.seq = this.batchSeq;
    return true;
  }

  /** The batch's distinct keys: what prefetch collected for this very batch (then forgotten), else collected now. */
  private keysOf(batch: StreamRecord[] | ColumnarBatch): Set<string> {
    const keys = this.prefetchedKeys.get(batch);
    if (keys === undefined) return keysOf(batch);
    this.prefetchedKeys.delete(batch);
    return keys;
  }

  /**
   * Reads the batch's keys' pending windows (and kept fired ones in enrich mode). Every
   * stored window has a timer (the index is rebuilt from state on first use), so a key
   * without timers has no pending windows: those are not read from the store.
   */
  private async loadKeys(keys: Set<string>): Promise<void> {
    const pending: string[] = [];
    const none: string[] = [];
    for (const k of keys) (this.timers.hasKey(k) ? pending : none).push(k);
    this.backend.assumeAbsent(none, 'windows');
    await this.backend.load(pending, ['windows']);
    if (this.enrich) await this.backend.load(keys, ['closed']);
  }

  async onTick(now: number): Promise<StreamRecord[]> {
    await this.init(now);
    const out: StreamRecord[] = [];
    if (this.tracker.onIdle(now)) {
      this.saveProgress();
      await this.fireDue(out);
    }
    return out;
  }

  /**
   * A bounded input is exhausted: emit every open window, as a final watermark would.
   * The stored watermark is left as it was, so a live run that continues from here
   * (run --from-backfill-end) does not treat newer records as late.
   */
  async onEnd(): Promise<StreamRecord[]> {
    await this.init(Date.now());
    const out: StreamRecord[] = [];
    await this.fireDue(out, Infinity);
    return out;
  }

  drainState() {
    return this.backend.drainWrites();
  }

  /**
   * Online (emit: enrich only): each record gets its key's previous window, read from
   * `view` exactly as process reads it, and is not added to any window. The aggregate
   * inputs are not needed (a request may lack the field the stream aggregates, e.g. the
   * delay a model predicts), and lateness does not apply: nothing is written.
   */
  async lookup(batch: StreamRecord[], ctx: OperatorContext, view: KeyedStateBackend): Promise<StreamRecord[]> {
    if (!this.enrich) {
      for (const r of batch) ctx.deadLetter(r, new SluiceError('INVALID_INPUT', `window "${this.id}" (emit: ${this.o.emit}) sends window results, not the records it reads, so it cannot answer a request; only emit: enrich windows can`, { operator: this.id }));
      return [];
    }
    const windows = view.value<KeyWindows | StoredPending>('windows', this.windowsOptions());
    const closed = view.value<ClosedWindow[]>('closed');
    const keys: string[] = [];
    for (const r of batch) if (r.key !== null) keys.push(r.key);
    await view.load(keys, ['windows', 'closed']);
    const out: StreamRecord[] = [];
    for (const r of batch) {
      if (r.key === null) {
        ctx.deadLetter(r, needsKey('window', this.id));
        continue;
      }
      const t = this.eventTime(r, ctx);
      if (t === FAILED) continue;
      const acc = this.previousWindow(r.key, enrichEnd(t, this.o.sizeMs, this.o.slideMs), windows, closed);
      const v = r.value;
      for (const a of this.o.aggs) v[a.name] = acc === undefined ? null : resultOf(a, acc);
      out.push(r);
    }
    return out;
  }

  /** On first use: the watermark from state, and the timer index from the pending windows. */
  private init(now: number): Promise<void> {
    this.ready ??= (async () => {
      await this.backend.load([''], ['progress']);
      const p = this.progress.get('');
      if (p) {
        this.tracker.restore(p.watermark, now);
        this.position = p.position;
      }
      for await (const [key, stored] of this.backend.entries<KeyWindows | StoredPending>('windows')) {
        const pending = stored instanceof KeyWindows ? stored : KeyWindows.from(stored, `window "${this.id}", key ${JSON.stringify(key)}`);
        for (let i = 0; i < pending.size; i++) this.timers.add(pending.wins[i]!.end + this.o.allowedLatenessMs, key, pending.starts[i]!);
      }
      this.initialized = true;
    })();
    return this.ready;
  }

  /**
   * emit: enrich: reads the key's window ending at the start of the record's slide, adds
   * the record to its own open windows, then sets the aggregate fields and passes it on.
   */
  private enrichAndAdd(key: string, t: number, wm: number, r: StreamRecord, ctx: OperatorContext, out: StreamRecord[]): 'late' | 'ok' | 'failed' {
    if (this.isLate(t, wm)) return 'late';
    const inputs = readInputs(this.o.aggs, r, ctx, this.what, this.scratch);
    if (inputs === FAILED) return 'failed';
    const acc = this.previousWindow(key, enrichEnd(t, this.o.sizeMs, this.o.slideMs));
    this.addInputsTo(key, t, wm, inputs, r, out);
    const v = r.value;
    for (const a of this.o.aggs) v[a.name] = acc === undefined ? null : resultOf(a, acc);
    out.push(r);
    return 'ok';
  }

  /**
   * The accumulators of the key's window that ends at `end` so far (pending and fired
   * parts merged), or undefined when it has none. `windows` and `closed` default to this
   * step's state; online lookups pass a read-only view's, whose values are never
   * converted or set (its windows stay in the stored form).
   */
  private previousWindow(key: string, end: number, windows?: ValueState<KeyWindows | StoredPending>, closed = this.closed!): AggregateState | undefined {
    const start = end - this.o.sizeMs;
    let pending: PendingWindow | undefined;
    if (windows === undefined) pending = this.pendingOf(key)?.get(start);
    else {
      const v = windows.get(key);
      pending = v instanceof KeyWindows ? v.get(start) : v?.[String(start)];
    }
    const list = this.closedOf(key, closed);
    let kept: ClosedWindow | undefined;
    for (let i = 0; i < list.length; i++) if (list[i]!.end === end) kept = list[i];
    if (pending && kept) return mergeStates(this.o.aggs, kept.acc, pending.acc);
    return pending?.acc ?? kept?.acc;
  }

  private closedOf(key: string, closed = this.closed!): ClosedWindow[] {
    const list = closed.get(key);
    if (list === undefined) return NONE_CLOSED;
    // Lists this step built (keepClosed) need no check; a list read from the store is checked once.
    if (this.checkedLists.has(list)) return list;
    if (!isClosedList(list)) throw new SluiceError('STATE_CORRUPT', `window "${this.id}": stored closed windows of key ${JSON.stringify(key)} are not a list of {end, acc}: ${JSON.stringify(list)}. Delete the data directory or rerun with --fresh to start the state over`, { operator: this.id });
    if (closed === this.closed) this.checkedLists.add(list);
    return list;
  }

  /** Tumbling and sliding: adds the record to each of its windows that is still open. */
  private addToWindows(key: string, t: number, wm: number, r: StreamRecord, ctx: OperatorContext, out: StreamRecord[]): 'late' | 'ok' | 'failed' {
    if (this.isLate(t, wm)) return 'late';
    const inputs = readInputs(this.o.aggs, r, ctx, this.what, this.scratch);
    if (inputs === FAILED) return 'failed';
    this.addInputsTo(key, t, wm, inputs, r, out);
    return 'ok';
  }

  /**
   * Tumbling and sliding: whether every window holding `t` has closed (its latest one).
   * The latest window starts after t - slide, so a t at least slide past the oldest open
   * window end needs no modulo (every record, when they come in event-time order).
   */
  private isLate(t: number, wm: number): boolean {
    if (t - this.o.slideMs >= wm - this.o.allowedLatenessMs - this.o.sizeMs) return false;
    return this.isClosed(this.latestStart(t) + this.o.sizeMs, wm);
  }

  /** Tumbling and sliding: the start of the latest window holding `t` (windows start every slide, aligned to the epoch). */
  private latestStart(t: number): number {
    const m = this.o.slideMs;
    return t - (((t % m) + m) % m);
  }

  /**
   * Adds the inputs to each of the record's windows that is still open (earliest first),
   * in place (the cached value is ours to change), then sets the key's windows again so
   * they are written. `r` gives the key fields of a new window and the update results;
   * without it (enrich mode on columns) there are neither.
   */
  private addInputsTo(key: string, t: number, wm: number, inputs: readonly unknown[], r: StreamRecord | undefined, out: StreamRecord[] | undefined): void {
    const pending = this.pendingOf(key) ?? new KeyWindows();
    if (this.cursors.size) this.cursors.delete(key);
    const { sizeMs, slideMs } = this.o;
    const latest = this.latestStart(t);
    let start = latest;
    while (start - slideMs > t - sizeMs) start -= slideMs;
    for (; start <= latest; start += slideMs) {
      const end = start + sizeMs;
      if (this.isClosed(end, wm)) continue;
      let cur = pending.get(start);
      if (!cur) {
        this.timers.add(end + this.o.allowedLatenessMs, key, start);
        cur = this.o.keyFields && r ? { end, acc: {}, fields: this.keyFields(r) } : { end, acc: {} };
        pending.set(start, cur);
      }
      addInputsOwned(this.o.aggs, cur.acc, inputs, t);
      if (this.o.emit === 'update' && out) out.push(this.result(key, start, cur, 'update'));
    }
    this.windows.set(key, pending);
  }

  /**
   * The key's pending windows as KeyWindows. A value read from the store is the stored
   * object: it is replaced by its KeyWindows (set, so written back in the same form at the
   * next checkpoint; every caller changes the key's windows anyway).
   */
  private pendingOf(key: string): KeyWindows | undefined {
    const v = this.windows.get(key);
    if (v === undefined || v instanceof KeyWindows) return v;
    const what = `window "${this.id}", key ${JSON.stringify(key)}`;
    const k = KeyWindows.from(v, what);
    // Checked once here, so that adding to a window needs no check of its stored state.
    for (const w of k.wins) {
      if (typeof w !== 'object' || w === null || typeof w.acc !== 'object' || w.acc === null) throw new SluiceError('STATE_CORRUPT', `${what}: a stored pending window is not {end, acc}: ${JSON.stringify(w)}. Delete the data directory or rerun with --fresh to start the state over`, { operator: this.id });
      checkState(this.o.aggs, w.acc);
    }
    this.windows.set(key, k);
    return k;
  }

  /** Removes one pending window of a key. */
  private removeWindow(key: string, start: number): void {
    if (this.cursors.size) this.cursors.delete(key);
    const pending = this.pendingOf(key);
    if (!pending) return;
    pending.delete(start);
    this.windows.set(key, pending.size ? pending : undefined);
  }

  /** Sessions: merges the record's [t, t + gap) with the key's open sessions it overlaps. */
  private addToSession(key: string, t: number, wm: number, r: StreamRecord, ctx: OperatorContext, out: StreamRecord[]): 'late' | 'ok' | 'failed' {
    const open: (TimeWindow & { w: PendingWindow })[] = [];
    const stored = this.pendingOf(key);
    // A copy: emitting a window removes it from the key's windows.
    const starts = stored ? [...stored.starts] : [];
    const wins = stored ? [...stored.wins] : [];
    for (let i = 0; i < starts.length; i++) {
      const w = wins[i]!;
      const start = starts[i]!;
      // Closed but not yet emitted (the watermark passed it earlier in this batch): emit it
      // now, so a new session can never absorb it or take its start.
      if (this.isClosed(w.end, wm)) this.emit(key, start, w, out);
      else open.push({ start, end: w.end, w });
    }
    const { merged, absorbed } = mergeWindow(open, { start: t, end: t + this.o.gapMs });
    if (this.isClosed(merged.end, wm)) return 'late';
    const inputs = readInputs(this.o.aggs, r, ctx, this.what, this.scratch);
    if (inputs === FAILED) return 'failed';
    let acc: AggregateState = {};
    let fields: Record<string, unknown> | undefined;
    let fieldsFound = false;
    for (const a of absorbed) {
      acc = mergeStates(this.o.aggs, acc, a.w.acc);
      if (!fieldsFound) {
        fields = a.w.fields;
        fieldsFound = true;
      }
      this.removeWindow(key, a.start);
      this.timers.remove(a.end + this.o.allowedLatenessMs, key, a.start);
    }
    const next: PendingWindow = { end: merged.end, acc: addInputs(this.o.aggs, acc, inputs, t) };
    const f = fieldsFound ? fields : this.o.keyFields ? this.keyFields(r) : undefined;
    if (f) next.fields = f;
    const after = this.pendingOf(key) ?? new KeyWindows();
    after.set(merged.start, next);
    this.windows.set(key, after);
    this.timers.add(merged.end + this.o.allowedLatenessMs, key, merged.start);
    if (this.o.emit === 'update') out.push(this.result(key, merged.start, next, 'update'));
    return 'ok';
  }

  /** Emits every window the watermark has closed. */
  private async fireDue(out: StreamRecord[], upTo = this.tracker.watermark): Promise<void> {
    const due = this.timers.popDue(upTo);
    if (!due.length) return;
    // A key has a timer per window: with a batch spanning many slides, many per key.
    const keys = new Set<string>();
    for (let i = 0; i < due.length; i++) keys.add(due[i]!.key);
    await this.backend.load(keys, this.keyedStates);
    for (let i = 0; i < due.length; i++) {
      const d = due[i]!;
      const w = this.pendingOf(d.key)?.get(d.id);
      // A timer whose window was merged away or re-formed with another end is stale.
      if (w && w.end + this.o.allowedLatenessMs === d.time) this.emit(d.key, d.id, w, out);
    }
  }

  private emit(key: string, start: number, w: PendingWindow, out: StreamRecord[]): void {
    if (this.enrich) {
      const horizon = closedHorizon(this.tracker.watermark, this.o.sizeMs, this.o.slideMs, this.o.allowedLatenessMs);
      // removeWindow below drops the pending window, so its accumulators move to the kept list.
      const list = this.closedOf(key);
      const kept = keepClosed(this.o.aggs, list === NONE_CLOSED ? undefined : list, { end: w.end, acc: w.acc }, horizon);
      this.checkedLists.add(kept);
      this.closed!.set(key, kept);
    } else out.push(this.result(key, start, w, 'final'));
    this.removeWindow(key, start);
    this.timers.remove(w.end + this.o.allowedLatenessMs, key, start);
  }

  private result(key: string, start: number, w: PendingWindow, kind: 'update' | 'final'): StreamRecord {
    const value: Record<string, unknown> = {};
    // Windows stored before fields became optional carry {key} themselves.
    if (w.fields) for (const f in w.fields) value[f] = w.fields[f];
    else value['key'] = key;
    value['window_start'] = start;
    value['window_end'] = w.end;
    const aggs = this.o.aggs;
    for (let i = 0; i < aggs.length; i++) value[aggs[i]!.name] = resultOf(aggs[i]!, w.acc);
    return {
      key,
      value,
      timestamp: w.end - 1,
      headers: HEADERS[kind],
      // Positions are never changed once made, so results share the last record's.
      position: this.position ?? { source: this.id, partition: 0, offset: 0 },
    };
  }

  private isClosed(end: number, wm: number): boolean {
    return end + this.o.allowedLatenessMs <= wm;
  }

  private keyFields(r: StreamRecord): Record<string, unknown> {
    if (!this.o.keyFields) return { key: r.key };
    const out: Record<string, unknown> = {};
    for (const f of this.o.keyFields) out[f] = r.value[f] ?? null;
    return out;
  }

  private eventTime(r: StreamRecord, ctx: OperatorContext): number | typeof FAILED {
    let v: unknown = r.timestamp;
    if (this.o.eventTime) {
      try {
        v = this.o.eventTime.evaluate(r);
      } catch (err) {
        ctx.deadLetter(r, ensureError(err, 'EXPRESSION_ERROR', { operator: this.id }));
        return FAILED;
      }
    }
    const t = asEventTime(v);
    if (t !== undefined) return t;
    ctx.deadLetter(r, this.badEventTime(v));
    return FAILED;
  }

  private badEventTime(v: unknown): SluiceError {
    const what = this.o.eventTime ? `\`${this.o.eventTime.source}\`` : 'the record timestamp';
    return new SluiceError('INVALID_INPUT', `window "${this.id}": event time from ${what} must be epoch milliseconds or an ISO-8601 date-time; got ${describeValue(v)}`, { operator: this.id });
  }

  /** Row i's event time on a columnar batch (rows.at(0) is the eventTime expression), as eventTime() gives it for a record. */
  private eventTimeAt(rows: ColumnRows, i: number, batch: ColumnarBatch, ctx: OperatorContext): number | typeof FAILED {
    if (!this.o.eventTime) return this.checkEventTime(batch.timestamp, batch, i, ctx);
    if (rows.isClean(0)) return rows.at(0, i) as number;
    let v: unknown;
    try {
      v = rows.at(0, i);
    } catch (err) {
      ctx.deadLetter(batch.record(i), ensureError(err, 'EXPRESSION_ERROR', { operator: this.id }));
      return FAILED;
    }
    return this.checkEventTime(v, batch, i, ctx);
  }

  private checkEventTime(v: unknown, batch: ColumnarBatch, i: number, ctx: OperatorContext): number | typeof FAILED {
    const t = asEventTime(v);
    if (t !== undefined) return t;
    ctx.deadLetter(batch.record(i), this.badEventTime(v));
    return FAILED;
  }

  private lateError(t: number, wm: number): SluiceError {
    return new SluiceError(
      'LATE_RECORD',
      `window "${this.id}": late record: event time ${iso(t)} belongs to windows that already closed (watermark ${iso(wm)}, allowedLateness ${this.o.allowedLatenessMs} ms); raise allowedLateness or maxOutOfOrderness to accept it, or set late: <sink> to keep late records apart`,
      { operator: this.id, late: true },
    );
  }

  /** Pending windows are stored packed where their aggregates allow it (see keyWindowsCodec). */
  private windowsOptions(): ValueStateOptions<KeyWindows | StoredPending> {
    const codec = keyWindowsCodec(this.o.aggs, this.what);
    return codec ? { codec } : {};
  }

  private saveProgress(): void {
    this.progress.set('', { watermark: this.tracker.snapshot(), position: this.position });
  }
}

/** Epoch ms from a number or ISO-8601 text, else undefined. */
function asEventTime(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && ISO_PREFIX.test(v)) {
    const t = Date.parse(v);
    if (Number.isFinite(t)) return t;
  }
  return undefined;
}

const NONE_CLOSED: ClosedWindow[] = [];

function iso(t: number): string {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : d.toISOString();
}
