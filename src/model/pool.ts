/** The main-thread handle of one model worker thread: start, run one batch at a time, close. */
import { Worker } from 'node:worker_threads';
import type { OutputTensor } from './options.js';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.js';

export type Ready = Extract<FromWorker, { type: 'ready' }>;

export class ModelWorker {
  /** Resolves once the session is open and warmed up; rejects with the load error. */
  readonly ready: Promise<Ready>;
  /** Called when the thread dies on its own after it was ready (not on close). */
  onCrash: ((err: Error) => void) | null = null;
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  private settleReady!: { resolve: (r: Ready) => void; reject: (e: Error) => void };
  private pending: { id: number; resolve: (o: Record<string, OutputTensor>) => void; reject: (e: Error) => void } | null = null;
  private nextId = 1;
  private isReady = false;
  private closing = false;
  private dead = false;
  private lastError: Error | null = null;

  constructor(init: WorkerInit) {
    this.ready = new Promise<Ready>((resolve, reject) => (this.settleReady = { resolve, reject }));
    this.worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: init });
    this.worker.on('message', (m: FromWorker) => this.onMessage(m));
    this.worker.on('error', (err) => (this.lastError = err));
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', (code) => {
        this.dead = true;
        const err = this.lastError ?? new Error(`worker thread exited with code ${code}`);
        this.settleReady.reject(err);
        this.pending?.reject(err);
        this.pending = null;
        if (this.isReady && !this.closing) this.onCrash?.(err);
        resolve();
      }),
    );
  }

  get busy(): boolean {
    return this.pending !== null;
  }

  get alive(): boolean {
    return !this.dead && !this.closing;
  }

  /** Runs one batch; `data`'s buffer is transferred (detached here). */
  run(data: Float32Array, dims: number[]): Promise<Record<string, OutputTensor>> {
    if (this.pending || !this.alive) return Promise.reject(new Error('worker is busy or gone'));
    const id = this.nextId++;
    // Keep the process alive only while a batch is in flight, so a runner that is
    // never closed does not hold the process open, but pending work is never cut off.
    this.worker.ref();
    return new Promise((resolve, reject) => {
      this.pending = { id, resolve, reject };
      this.post({ type: 'run', id, data, dims }, [data.buffer as ArrayBuffer]);
    });
  }

  /** Asks the worker to release its session and end; terminates it if it has not after `graceMs`. */
  async close(graceMs = 5000): Promise<void> {
    this.closing = true;
    if (this.dead) return;
    this.worker.ref(); // keep the process up until the thread has really ended
    this.post({ type: 'close' });
    let timer: NodeJS.Timeout | undefined;
    const forced = new Promise<void>((r) => (timer = setTimeout(() => void this.worker.terminate().then(() => r(), () => r()), graceMs)));
    await Promise.race([this.exited, forced]);
    clearTimeout(timer);
  }

  /** Ends the thread now (failed load). */
  async terminate(): Promise<void> {
    this.closing = true;
    await this.worker.terminate().catch(() => undefined);
    await this.exited;
  }

  private post(m: ToWorker, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(m, transfer);
  }

  private onMessage(m: FromWorker): void {
    switch (m.type) {
      case 'ready':
        this.isReady = true;
        this.worker.unref();
        this.settleReady.resolve(m);
        break;
      case 'load-error':
        this.settleReady.reject(new Error(m.message));
        break;
      case 'result':
      case 'failed': {
        const p = this.pending;
        if (!p || p.id !== m.id) break;
        this.pending = null;
        this.worker.unref();
        if (m.type === 'result') p.resolve(m.outputs);
        else p.reject(new Error(m.message));
        break;
      }
      case 'closed':
        break;
    }
  }
}
