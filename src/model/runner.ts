/**
 * ModelRunner: one per model per process, shared by streaming, batch and online
 * serving. Requests go into a bounded priority queue; a dispatcher concatenates them
 * into batches of up to maxBatchSize rows and hands each batch to an idle worker
 * thread (each worker owns one InferenceSession), then splits the outputs back.
 * A full batch may also go to a worker that is still running one (see pickWorker).
 *
 * Workers are only ever terminated when idle: terminating a thread inside
 * session.run can abort the whole process (see ModelWorker.dispose).
 */
import { stat } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { TimerHandle } from '../core/clock.js';
import { SluiceError } from '../core/errors.js';
import { inputLayout, type InputLayout } from './metadata.js';
import { resolveOptions, type InferOptions, type ModelOptions, type ModelOutput, type OutputTensor, type ResolvedOptions, type TensorInfo } from './options.js';
import type { InlineSession } from './inline.js';
import { ModelWorker, type Ready } from './pool.js';
import type { WorkerInit } from './protocol.js';
import { PriorityQueue } from './queue.js';

interface Request {
  readonly data: Float32Array;
  readonly rows: number;
  readonly width: number;
  readonly priority: number;
  readonly deadline: number | undefined;
  /** InferOptions.noDelay: a partial batch with this request at its head does not wait for the delay. */
  readonly noDelay: boolean;
  enqueuedAt: number; // clock ms, drives the batching delay
  perfAt: number; // performance.now(), for the queue-time metric
  next: number; // first row not yet handed to a worker
  done: number; // rows whose outputs came back (split requests)
  chunks: { start: number; rows: number; outputs: ModelOutput }[] | null;
  waitTimer: TimerHandle | null;
  settled: boolean;
  /** Cancelled while queued: its rows were already taken off queuedRows. */
  cancelled: boolean;
  resolve(out: ModelOutput): void;
  reject(err: Error): void;
}

/** `rows` rows of `req`, from its row `start`, sit at row `at` of the batch. */
interface Slice { req: Request; start: number; rows: number; at: number }
interface Batch { slices: Slice[]; rows: number; width: number }

interface Observer { observe(v: number): void }

/** Batches one worker may hold at once (see pickWorker). */
const PIPELINE_DEPTH = 2;

const product = (xs: number[]): number => xs.reduce((a, b) => a * b, 1);

export class ModelRunner {
  readonly name: string;
  readonly inputs: TensorInfo[];
  readonly outputs: TensorInfo[];
  /** The provider the sessions actually use ('cpu' after a fallback). */
  readonly executionProvider: string;
  /** Floats per row when the input's row shape is fixed, else null (width = data.length / rows). */
  readonly featureCount: number | null;

  private readonly layout: InputLayout;
  private readonly maxBatch: number;
  private readonly queue = new PriorityQueue<Request>();
  private readonly waiters: Request[] = [];
  private queuedRows = 0;
  /** The part of queuedRows that is bulk work (priority 0 or below). */
  private queuedBulkRows = 0;
  private inFlight = 0;
  /** Batches in flight that started with bulk (priority 0) work. */
  private bulkInFlight = 0;
  private starting = 0;
  private timer: TimerHandle | null = null;
  private timerAt = 0;
  private closed: Promise<void> | null = null;
  /** Set when every worker died and none could be restarted. */
  private broken: SluiceError | null = null;
  private drained: (() => void) | null = null;
  /** Small online batches run here, on the main thread (ModelOptions.inlineBudgetUs); null when off. */
  private inline: InlineSession | null = null;
  private inlineBusy = false;
  private inlineBatches = 0;
  /** Metric children already labelled with the model name (labels() per call is a map lookup). */
  private readonly m: { rows: Observer; infer: Observer; queue: Observer; depth: { set(v: number): void } } | null;

  private constructor(
    private readonly o: ResolvedOptions,
    ready: Ready,
    private readonly init: WorkerInit,
    private workers: ModelWorker[],
  ) {
    this.name = o.name;
    this.inputs = ready.inputs;
    this.outputs = ready.outputs;
    this.executionProvider = ready.provider;
    this.layout = inputLayout(ready.inputs); // already checked in the worker
    this.featureCount = this.layout.row ? product(this.layout.row) : null;
    this.maxBatch = this.layout.fixedBatch ?? o.maxBatchSize;
    const mt = o.metrics;
    this.m = mt
      ? { rows: mt.modelBatchRows.labels(o.name), infer: mt.modelInferenceSeconds.labels(o.name), queue: mt.modelQueueSeconds.labels(o.name), depth: mt.modelQueueDepth.labels(o.name) }
      : null;
    for (const w of workers) w.onCrash = (err) => this.onCrash(w, err);
  }

  static async load(options: ModelOptions): Promise<ModelRunner> {
    const o = resolveOptions(options);
    const path = resolvePath(o.path);
    const fail = (reason: string, cause?: unknown): SluiceError =>
      new SluiceError('MODEL_LOAD_FAILED', `model "${o.name}": cannot load "${path}": ${reason}`, { path, model: o.name }, { cause });
    try {
      if (!(await stat(path)).isFile()) throw fail('not a file');
    } catch (err) {
      if (err instanceof SluiceError) throw err;
      throw fail((err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message, err);
    }
    const init: WorkerInit = {
      path,
      providers: [...new Set([...o.executionProviders, 'cpu'])],
      fallbackToCpu: true,
      intraOpNumThreads: o.intraOpNumThreads,
      warmupRows: o.warmup ? [...new Set([1, o.maxBatchSize])] : [],
      fetch: o.fetch,
    };
    // The first worker checks the model and finds which provider works, so a bad file
    // or missing GPU libraries cost one thread and one log line, not one per worker.
    const started: ModelWorker[] = [];
    const start = async (i: WorkerInit): Promise<Ready> => {
      const w = new ModelWorker(i);
      started.push(w);
      return w.ready;
    };
    try {
      const ready = await start(init);
      const rest: WorkerInit = { ...init, providers: ready.providers, fallbackToCpu: false };
      await Promise.all(Array.from({ length: o.workers - 1 }, () => start(rest)));
      const runner = new ModelRunner(o, ready, rest, started);
      await runner.openInline(rest);
      if (ready.fallback !== null) {
        const requested = o.executionProviders.filter((p) => p !== 'cpu').join(',');
        o.logger.warn(`model "${o.name}": execution provider ${requested} unavailable, fallback to cpu`, { model: o.name, requested, reason: ready.fallback });
        o.metrics?.modelProviderFallbacks.inc({ model: o.name, requested });
      }
      if (runner.layout.fixedBatch !== null && runner.layout.fixedBatch !== o.maxBatchSize) {
        o.logger.info(`model "${o.name}": input has a fixed batch size of ${runner.layout.fixedBatch}; batches are padded to it`);
      }
      return runner;
    } catch (err) {
      await Promise.all(started.map((w) => w.dispose()));
      if ((err as { topology?: boolean }).topology) {
        throw new SluiceError('INVALID_TOPOLOGY', `model "${o.name}" (${path}): ${(err as Error).message}; fix the score step's outputs`, { path, model: o.name }, { cause: err });
      }
      throw err instanceof SluiceError ? err : fail(err instanceof Error ? err.message : String(err), err);
    }
  }

  /**
   * Scores `rows` rows laid out row-major in `data`. `data` is copied into a batch, never
   * detached, but only when the request is dispatched: do not change it until the promise
   * settles. Resolves with each output holding exactly this request's rows, in order.
   */
  infer(data: Float32Array, rows: number, opts: InferOptions = {}): Promise<ModelOutput> {
    if (this.closed) return Promise.reject(this.shuttingDown());
    if (this.broken) return Promise.reject(this.broken);
    const bad = this.checkInput(data, rows);
    if (bad) return Promise.reject(new SluiceError('INVALID_INPUT', `model "${this.name}": ${bad}`, { model: this.name }));
    const now = this.o.clock.now();
    if (opts.deadline !== undefined && now >= opts.deadline) return Promise.reject(this.expired());
    if (opts.signal?.aborted) return Promise.reject(this.cancelledError());
    const online = (opts.priority ?? 0) > 0;
    if (online) this.o.activity.begin();
    const p = new Promise<ModelOutput>((resolve, reject) => {
      const req: Request = {
        data, rows, width: data.length / rows, priority: opts.priority ?? 0, deadline: opts.deadline, noDelay: opts.noDelay === true && !this.o.explicitDelay,
        enqueuedAt: now, perfAt: 0, next: 0, done: 0, chunks: null, waitTimer: null, settled: false, cancelled: false, resolve, reject,
      };
      const signal = opts.signal;
      if (signal) {
        const onAbort = (): void => this.cancel(req);
        signal.addEventListener('abort', onAbort, { once: true });
        const release = (): void => signal.removeEventListener('abort', onAbort);
        req.resolve = (out) => (release(), resolve(out));
        req.reject = (err) => (release(), reject(err));
      }
      // Waiters go first: a request that does not wait must not overtake them.
      if (this.waiters.length === 0 && this.hasRoom(rows)) {
        this.enqueue(req, now);
        // A no-delay request is dispatched at the end of this event-loop round, not here,
        // so the requests read in the same round go in one batch rather than one each.
        if (req.noDelay) this.pumpSoon();
        else this.pump();
      } else if (opts.wait) {
        this.waiters.push(req);
        if (req.deadline !== undefined) {
          req.waitTimer = this.o.clock.setTimeout(() => {
            const i = this.waiters.indexOf(req);
            if (i >= 0) this.waiters.splice(i, 1);
            this.settle(req, this.expired());
          }, req.deadline - now);
        }
      } else {
        reject(new SluiceError('OVERLOADED', `model "${this.name}": queue full (${this.queuedRows} rows queued, limit ${this.o.maxQueueRows}; ${this.waiters.length} waiting)`, { model: this.name }));
      }
    });
    if (online) {
      const end = (): void => this.o.activity.end();
      p.then(end, end);
    }
    return p;
  }

  stats(): { queuedRows: number; waiting: number; inFlightBatches: number; workers: number; inlineMaxRows: number; inlineBatches: number } {
    return {
      queuedRows: this.queuedRows,
      waiting: this.waiters.length,
      inFlightBatches: this.inFlight,
      workers: this.workers.length,
      inlineMaxRows: this.inline?.maxRows ?? 0,
      inlineBatches: this.inlineBatches,
    };
  }

  /**
   * Opens the main-thread session for small online batches when asked for (inlineBudgetUs > 0)
   * and the model runs on CPU with a fixed row shape. A failure here only turns inline runs off.
   */
  private async openInline(init: WorkerInit): Promise<void> {
    const budget = this.o.inlineBudgetUs;
    if (budget <= 0 || !this.layout.row || this.layout.fixedBatch !== null || this.executionProvider !== 'cpu') return;
    try {
      const { InlineSession } = await import('./inline.js');
      this.inline = await InlineSession.open(init, this.layout.row, this.maxBatch, budget);
    } catch (err) {
      this.o.logger.warn(`model "${this.name}": cannot open the main-thread session for small online batches; they run on worker threads`, { model: this.name, error: (err as Error).message });
      return;
    }
    const i = this.inline;
    this.o.logger.info(
      i
        ? `model "${this.name}": online batches of up to ${i.maxRows} rows run on the main thread (estimated ${i.fixedUs.toFixed(0)} µs + ${i.perRowUs.toFixed(2)} µs per row; inlineBudgetUs ${budget})`
        : `model "${this.name}": one row takes longer than inlineBudgetUs (${budget}); online batches run on worker threads`,
      { model: this.name },
    );
  }

  /**
   * The caller gave up (an HTTP client disconnected): a request not yet handed to a
   * worker leaves the queue's row count at once, so it frees its slot; one already
   * running is left to finish and its answer is dropped.
   */
  private cancel(req: Request): void {
    if (req.settled) return;
    const w = this.waiters.indexOf(req);
    if (w >= 0) {
      this.waiters.splice(w, 1);
      if (req.waitTimer) this.o.clock.clearTimeout(req.waitTimer);
    } else if (req.next === 0) {
      // Still queued: take() will skip it without counting its rows again.
      req.cancelled = true;
      this.queuedRows -= req.rows;
      if (req.priority <= 0) this.queuedBulkRows -= req.rows;
      this.m?.depth.set(this.queuedRows);
    }
    this.settle(req, this.cancelledError());
    this.admitWaiters();
    this.pump();
  }

  /** Rejects queued requests with SHUTTING_DOWN, waits for batches in flight, ends the workers. Idempotent. */
  close(): Promise<void> {
    return (this.closed ??= this.shutdown());
  }

  private async shutdown(): Promise<void> {
    this.setTimer(undefined);
    const err = this.shuttingDown();
    for (const r of this.waiters.splice(0)) {
      if (r.waitTimer) this.o.clock.clearTimeout(r.waitTimer);
      this.settle(r, err);
    }
    for (const r of this.queue.drain()) this.settle(r, err);
    this.queuedRows = 0;
    this.queuedBulkRows = 0;
    this.m?.depth.set(0);
    if (this.inFlight > 0) await new Promise<void>((r) => (this.drained = r));
    const workers = this.workers;
    this.workers = [];
    await Promise.all([...workers.map((w) => w.close()), this.inline?.close()]);
  }

  private checkInput(data: Float32Array, rows: number): string | null {
    if (!(data instanceof Float32Array)) return 'data must be a Float32Array';
    if (!Number.isInteger(rows) || rows < 1) return `rows must be a positive integer, got ${rows}`;
    const want = this.featureCount;
    if (want !== null && data.length !== rows * want) return `expected ${rows} rows x ${want} features = ${rows * want} floats, got ${data.length}`;
    if (want === null && (data.length === 0 || data.length % rows !== 0)) return `${data.length} floats do not divide into ${rows} rows`;
    return null;
  }

  private hasRoom(rows: number): boolean {
    // A request bigger than the whole queue is still let in when the queue is empty.
    return this.queuedRows === 0 || this.queuedRows + rows <= this.o.maxQueueRows;
  }

  private enqueue(req: Request, now: number): void {
    req.enqueuedAt = now;
    if (this.m) req.perfAt = performance.now();
    this.queue.push(req);
    this.queuedRows += req.rows;
    if (req.priority <= 0) this.queuedBulkRows += req.rows;
  }

  private admitWaiters(): void {
    for (let w = this.waiters[0]; w && this.hasRoom(w.rows); w = this.waiters[0]) {
      this.waiters.shift();
      if (w.waitTimer) this.o.clock.clearTimeout(w.waitTimer);
      this.enqueue(w, this.o.clock.now());
    }
  }

  /**
   * Hands batches to idle workers while there is a full batch or the oldest request has
   * waited long enough. While online requests are recent (see ModelOptions.bulkSliceRows),
   * bulk work goes out in slices, one per worker, leaving a worker for online requests.
   */
  private pump(): void {
    let wakeAt: number | undefined;
    const now = this.o.clock.now();
    const busy = this.o.activity.busy();
    const bulkCap = busy ? Math.min(this.maxBatch, this.o.bulkSliceRows) : this.maxBatch;
    while (this.queue.size > 0) {
      const head = this.queue.peek()!;
      // While bulk work runs on the workers, whole online requests that fit the inline limit run
      // inline (a split one stays on workers): on the workers they would share the CPU with the
      // bulk slices, while the main thread wins it (bulk threads run niced). Without bulk work the
      // workers answer more requests. While an inline batch runs, the queue forms the next one,
      // unless more rows wait than one inline batch holds: those go to a worker meanwhile.
      const online = this.queuedRows - this.queuedBulkRows;
      // Bulk work around: batches on the workers, or rows queued for them (between two slices none is in flight).
      if (this.inline && head.priority > 0 && head.next === 0 && head.rows <= this.inline.maxRows && (this.bulkInFlight > 0 || this.queuedBulkRows > 0) && (!this.inlineBusy || online <= this.inline.maxRows)) {
        if (this.inlineBusy) break;
        const due = this.queue.oldest()! + this.o.maxQueueDelayMs;
        if (!head.noDelay && now < due && online < this.inline.maxRows) {
          wakeAt = due;
          break;
        }
        const batch = this.take(now, bulkCap, true);
        if (batch) this.dispatch(null, batch);
        this.admitWaiters();
        continue;
      }
      const bulk = busy && head.priority <= 0;
      const full = this.queuedRows >= (bulk ? bulkCap : this.maxBatch);
      const worker = bulk ? this.pickBulkWorker() : this.pickWorker(full);
      if (!worker) break; // a finishing batch calls pump again
      const due = this.queue.oldest()! + this.o.maxQueueDelayMs;
      if (!full && now < due && !this.queue.peek()!.noDelay) {
        wakeAt = due;
        break;
      }
      const batch = this.take(now, bulkCap, false);
      if (batch) this.dispatch(worker, batch);
      this.admitWaiters();
    }
    this.setTimer(wakeAt);
    this.m?.depth.set(this.queuedRows);
  }

  private pumpScheduled = false;
  private readonly pumpNow = (): void => {
    this.pumpScheduled = false;
    if (!this.closed) this.pump();
  };

  /** pump() in the check phase of this event-loop round (once, however many requests came in it). */
  private pumpSoon(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(this.pumpNow);
  }

  /**
   * An idle worker, or, when a full batch is waiting, one with a single batch in flight:
   * queueing the next batch in the worker's port hides the ~50 µs round trip, at the
   * cost of committing that batch one batch early (a later higher-priority request
   * waits for it).
   */
  private pickWorker(full: boolean): ModelWorker | undefined {
    let best: ModelWorker | undefined;
    for (const w of this.workers) {
      if (!w.alive || w.inFlight >= (full ? PIPELINE_DEPTH : 1)) continue;
      // A thread stuck at a lower priority (see ModelOptions.bulkNice) only when no other can take the batch.
      if (!best || (best.stuck && !w.stuck) || (w.stuck === best.stuck && w.inFlight < best.inFlight)) best = w;
      if (w.inFlight === 0 && !w.stuck) break;
    }
    return best;
  }

  /** While online requests are recent: an idle worker, as long as bulk batches leave one worker to them. */
  private pickBulkWorker(): ModelWorker | undefined {
    let alive = 0;
    let idle: ModelWorker | undefined;
    for (const w of this.workers) {
      if (!w.alive) continue;
      alive++;
      // Prefer a thread already at the bulk priority, so the same one stays the bulk worker.
      if (w.inFlight === 0 && (!idle || (w.wanted > 0 && idle.wanted === 0))) idle = w;
    }
    return this.bulkInFlight < Math.max(1, alive - 1) ? idle : undefined;
  }

  private setTimer(at: number | undefined): void {
    if (this.timer && at === this.timerAt) return;
    if (this.timer) this.o.clock.clearTimeout(this.timer);
    this.timer = null;
    if (at === undefined) return;
    this.timerAt = at;
    this.timer = this.o.clock.setTimeout(() => {
      this.timer = null;
      this.pump();
    }, at - this.o.clock.now());
  }

  /**
   * Takes whole requests in priority order up to maxBatch rows (bulk requests, priority 0,
   * only while the batch holds fewer than `bulkCap` rows, and not beside online ones while
   * bulk work is throttled). Only a request larger than its
   * cap is split (it fills the rest of the batch and stays at the head); splitting smaller
   * ones would make them wait for two batches.
   */
  private take(now: number, bulkCap: number, inline: boolean): Batch | null {
    const slices: Slice[] = [];
    let rows = 0;
    let width = -1;
    for (let req = this.queue.peek(); req; req = this.queue.peek()) {
      const left = req.rows - req.next;
      if (req.cancelled) {
        this.queue.shift();
        continue;
      }
      if (req.settled || (req.next === 0 && req.deadline !== undefined && now >= req.deadline)) {
        // Expired before it ran, or an earlier chunk of it failed.
        this.queue.shift();
        this.queuedRows -= left;
        if (req.priority <= 0) this.queuedBulkRows -= left;
        this.settle(req, this.expired());
        continue;
      }
      // While bulk work is throttled, an online batch carries no bulk rows (they would only make it slower);
      // nor does an inline batch ever.
      if (req.priority <= 0 && (inline || (bulkCap < this.maxBatch && slices.length > 0 && slices[0]!.req.priority > 0))) break;
      const cap = inline ? this.inline!.maxRows : req.priority > 0 ? this.maxBatch : bulkCap;
      const space = cap - rows;
      if (space <= 0 || (width >= 0 && req.width !== width) || (inline && left > space)) break;
      const n = left <= space ? left : left > cap ? space : 0;
      if (n === 0) break;
      if (req.next === 0 && this.m) this.m.queue.observe((performance.now() - req.perfAt) / 1000);
      slices.push({ req, start: req.next, rows: n, at: rows });
      req.next += n;
      rows += n;
      width = req.width;
      this.queuedRows -= n;
      if (req.priority <= 0) this.queuedBulkRows -= n;
      if (req.next < req.rows) break; // split: the batch is full
      this.queue.shift();
    }
    return rows > 0 ? { slices, rows, width } : null;
  }

  /** Runs a batch on `worker`, or inline (on this thread) when `worker` is null. */
  private dispatch(worker: ModelWorker | null, batch: Batch): void {
    const w = batch.width;
    // Models with a fixed batch size get zero rows appended.
    const padded = this.layout.fixedBatch ?? batch.rows;
    const data = new Float32Array(padded * w); // copied: callers' arrays are never detached
    for (const s of batch.slices) {
      const whole = s.rows === s.req.rows; // the common case: skip making a view
      data.set(whole ? s.req.data : s.req.data.subarray(s.start * w, (s.start + s.rows) * w), s.at * w);
    }
    const dims = this.layout.row ? [padded, ...this.layout.row] : [padded, w];
    this.inFlight++;
    const bulk = batch.slices[0]!.req.priority <= 0;
    if (bulk) this.bulkInFlight++;
    this.m?.rows.observe(batch.rows);
    // Bulk work beside online traffic runs at a lower CPU priority (ModelOptions.bulkNice), on
    // the workers pickBulkWorker leaves it; with one worker, online batches share its thread.
    const nice = bulk && this.workers.length > 1 && this.o.activity.busy() ? this.o.bulkNice : 0;
    const t0 = performance.now();
    if (!worker) {
      this.inlineBusy = true;
      this.inlineBatches++;
    }
    const after = (): void => {
      this.m?.infer.observe((performance.now() - t0) / 1000);
      if (!worker) this.inlineBusy = false;
      if (bulk) this.bulkInFlight--;
      if (--this.inFlight === 0) this.drained?.();
      this.pump();
    };
    (worker ? worker.run(data, dims, nice) : this.inline!.run(data, dims)).then(
      (out) => {
        this.complete(batch, padded, out);
        after();
      },
      (err: Error) => {
        this.failBatch(batch, err);
        after();
      },
    );
  }

  /** Splits a batch's outputs back into its requests. */
  private complete(batch: Batch, padded: number, out: Record<string, OutputTensor>): void {
    const entries = Object.entries(out);
    for (const [name, t] of entries) {
      if (t.dims[0] !== padded || t.data.length % padded !== 0) {
        return this.failBatch(batch, new Error(`output "${name}" has shape [${t.dims.join(',')}]; its first dimension must be the batch size ${padded}`));
      }
    }
    const whole = batch.slices.length === 1 && padded === batch.rows;
    for (const s of batch.slices) {
      if (s.req.settled) continue;
      const part: ModelOutput = {};
      for (const [name, t] of entries) {
        const stride = t.data.length / padded;
        part[name] = { data: whole ? t.data : t.data.slice(s.at * stride, (s.at + s.rows) * stride), dims: [s.rows, ...t.dims.slice(1)] };
      }
      const req = s.req;
      if (s.rows === req.rows) {
        this.settle(req, null, part);
        continue;
      }
      (req.chunks ??= []).push({ start: s.start, rows: s.rows, outputs: part });
      req.done += s.rows;
      if (req.done === req.rows) this.settle(req, null, assemble(req.rows, req.chunks));
    }
  }

  private failBatch(batch: Batch, cause: Error): void {
    const err = new SluiceError('MODEL_ERROR', `model "${this.name}": inference failed on a batch of ${batch.rows} rows: ${cause.message}`, { model: this.name }, { cause });
    for (const s of batch.slices) this.settle(s.req, err);
  }

  private settle(req: Request, err: Error | null, out?: ModelOutput): void {
    if (req.settled) return;
    req.settled = true;
    req.chunks = null;
    if (err) req.reject(err);
    else req.resolve(out!);
  }

  /** A worker thread died outside close(): its batch was already failed; start a replacement. */
  private onCrash(dead: ModelWorker, err: Error): void {
    this.workers = this.workers.filter((w) => w !== dead);
    if (this.closed) return;
    this.o.logger.error(`model "${this.name}": worker thread died, starting another`, { model: this.name, error: err.message });
    const next = new ModelWorker({ ...this.init, warmupRows: [] });
    this.starting++;
    next.ready.then(
      () => {
        this.starting--;
        if (this.closed) return void next.close();
        next.onCrash = (e) => this.onCrash(next, e);
        this.workers.push(next);
        this.pump();
      },
      (e: Error) => {
        this.starting--;
        this.o.logger.error(`model "${this.name}": replacement worker failed to start`, { model: this.name, error: e.message });
        if (this.workers.length === 0 && this.starting === 0) {
          const fatal = (this.broken = new SluiceError('MODEL_ERROR', `model "${this.name}": no worker threads left (${e.message}); reload the model`, { model: this.name }));
          for (const r of [...this.waiters.splice(0), ...this.queue.drain()]) this.settle(r, fatal);
          this.queuedRows = 0;
          this.queuedBulkRows = 0;
        }
      },
    );
  }

  private expired(): SluiceError {
    return new SluiceError('DEADLINE_EXCEEDED', `model "${this.name}": request deadline passed before it ran`, { model: this.name });
  }

  private cancelledError(): SluiceError {
    return new SluiceError('CANCELLED', `model "${this.name}": request cancelled by its caller`, { model: this.name });
  }

  private shuttingDown(): SluiceError {
    return new SluiceError('SHUTTING_DOWN', `model "${this.name}" is shutting down`, { model: this.name });
  }
}

/** Joins the chunks of a request that was split across batches. */
function assemble(rows: number, chunks: { start: number; rows: number; outputs: ModelOutput }[]): ModelOutput {
  const out: ModelOutput = {};
  for (const [name, first] of Object.entries(chunks[0]!.outputs)) {
    const stride = first.data.length / chunks[0]!.rows;
    const Ctor = first.data.constructor as new (n: number) => OutputTensor['data'];
    const data = new Ctor(rows * stride);
    for (const c of chunks) data.set(c.outputs[name]!.data, c.start * stride);
    out[name] = { data, dims: [rows, ...first.dims.slice(1)] };
  }
  return out;
}
