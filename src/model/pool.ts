/** The main-thread handle of one model worker thread: start, run batches (in order), close. */
import { Worker } from 'node:worker_threads';
import type { OutputTensor } from './options.js';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.js';

export type Ready = Extract<FromWorker, { type: 'ready' }>;

export class ModelWorker {
  /** Resolves once the session is open and warmed up; rejects with the load error. */
  readonly ready: Promise<Ready>;
  /**
   * The nice value the thread's latest batch asked for (`wanted`) and the one it reported
   * having (`nice`): they differ when the thread could not raise its priority back.
   */
  wanted = 0;
  nice = 0;
  /** The thread asked to raise its priority back and could not: it stays at a lower priority. */
  stuck = false;
  /** Called when the thread dies on its own after it was ready (not on close). */
  onCrash: ((err: Error) => void) | null = null;
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  private settleReady!: { resolve: (r: Ready) => void; reject: (e: Error) => void };
  private readonly pending = new Map<number, { nice: number; resolve: (o: Record<string, OutputTensor>) => void; reject: (e: Error) => void }>();
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
        this.flush(); // results that arrived before the exit still count
        const err = this.lastError ?? new Error(`worker thread exited with code ${code}`);
        this.settleReady.reject(err);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        if (this.isReady && !this.closing) this.onCrash?.(err);
        resolve();
      }),
    );
  }

  /** Batches sent and not yet answered. */
  get inFlight(): number {
    return this.pending.size;
  }

  get alive(): boolean {
    return !this.dead && !this.closing;
  }

  /** Runs one batch (queued behind any in flight); `data`'s buffer is transferred (detached here). */
  run(data: Float32Array, dims: number[], nice = 0): Promise<Record<string, OutputTensor>> {
    if (!this.alive) return Promise.reject(new Error('worker is gone'));
    const id = this.nextId++;
    this.wanted = nice;
    // Keep the process alive only while a batch is in flight, so a runner that is
    // never closed does not hold the process open, but pending work is never cut off.
    this.worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { nice, resolve, reject });
      this.post({ type: 'run', id, data, dims, nice }, [data.buffer as ArrayBuffer]);
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

  /**
   * Ends a worker whatever state its startup is in (used when load() fails). It waits for
   * startup to finish instead of terminating at once: terminating a thread while ORT is
   * inside a native call can abort the whole process ("terminate called after throwing
   * an instance of 'Napi::Error'", seen here with onnxruntime-node 1.30).
   */
  async dispose(startupGraceMs = 30_000): Promise<void> {
    this.closing = true;
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<'stuck'>((r) => (timer = setTimeout(() => r('stuck'), startupGraceMs)));
    const started = await Promise.race([this.ready.then(() => 'ready' as const, () => 'failed' as const), stuck]);
    clearTimeout(timer);
    if (started === 'ready') return this.close();
    if (started === 'stuck') await this.worker.terminate().catch(() => undefined);
    await this.exited; // a failed worker ends by itself
  }

  private post(m: ToWorker, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(m, transfer);
  }

  private readonly inbox: Extract<FromWorker, { type: 'result' | 'failed' }>[] = [];
  private readonly flush = (): void => {
    for (const m of this.inbox.splice(0)) {
      const p = this.pending.get(m.id);
      if (!p) continue;
      this.pending.delete(m.id);
      this.nice = m.nice;
      if (m.nice > p.nice) this.stuck = true;
      if (this.pending.size === 0) this.worker.unref();
      if (m.type === 'result') p.resolve(m.outputs);
      else p.reject(new Error(m.message));
    }
  };

  private onMessage(m: FromWorker): void {
    switch (m.type) {
      case 'ready':
        this.isReady = true;
        this.worker.unref();
        this.settleReady.resolve(m);
        break;
      case 'load-error':
        this.settleReady.reject(Object.assign(new Error(m.message), { topology: m.topology === true }));
        break;
      case 'result':
      case 'failed':
        // Settle on the next check phase, not here: Node keeps delivering a port's
        // messages (up to 1000) for as long as new ones arrive, and a worker answers in
        // ~60 µs, so settling here (which sends the next batch) could keep the main
        // loop inside one port callback for hundreds of ms, starving timers and sockets.
        if (this.inbox.push(m) === 1) setImmediate(this.flush);
        break;
      case 'closed':
        break;
    }
  }
}
