import { availableParallelism } from 'node:os';
import { systemClock, type Clock } from '../core/clock.js';
import { createLogger, type Logger } from '../core/logger.js';
import type { CancelSignal } from '../core/cancel.js';
import type { Metrics } from '../metrics/registry.js';
import { onlineActivity, type OnlineActivity } from '../core/online-activity.js';

export type ExecutionProviderName = 'cpu' | 'cuda' | 'tensorrt';

export interface ModelOptions {
  /** Name used in log lines, error messages and the `model` metric label. */
  name: string;
  /** Path to the .onnx file (resolved against the working directory). */
  path: string;
  /**
   * Providers in order of preference; default ['cpu']. CPU is always appended as the
   * last resort. When a GPU provider's libraries are missing, session creation throws
   * (it does not fall back by itself), so the runner retries with CPU, logs a warning
   * and counts it in modelProviderFallbacks.
   */
  executionProviders?: ExecutionProviderName[];
  /** Worker threads, each with its own session; default os.availableParallelism(). */
  workers?: number;
  /** ORT intra-op threads per session; default 1 (a second thread spins a core while idle). */
  intraOpNumThreads?: number;
  /** Most rows in one inference call; default 1024. */
  maxBatchSize?: number;
  /** How long a partial batch waits for more rows before it is run; default 2 ms (which noDelay requests skip; a delay set here they wait too). */
  maxQueueDelayMs?: number;
  /** Rows that may wait in the queue (not counting batches in flight); default maxBatchSize * workers * 8. */
  maxQueueRows?: number;
  /**
   * While online requests (priority above 0) are recent, a batch of bulk work (priority 0)
   * holds at most this many rows, bulk work runs on at most workers - 1 workers (all of
   * them when there is one) and is not queued behind a running batch: an online request
   * then waits for at most one such slice. Default 256.
   */
  bulkSliceRows?: number;
  /**
   * The nice value (Linux: per thread) of a worker thread while it runs bulk work beside recent
   * online requests, so the online worker and the main thread win the CPU; 0 turns it off.
   * Where a thread cannot raise its priority back (no privilege), it stays lowered and is
   * kept for bulk work. Default 10.
   */
  bulkNice?: number;
  /**
   * While bulk work (priority 0) runs on the workers, online batches (priority above 0) whose
   * estimated run time fits this many microseconds run on the main thread, on a session of their
   * own, instead of sharing the CPU with bulk slices on a worker (see inline.ts). The estimate is
   * measured at load. CPU models with a fixed row shape only. Default 0 (off); the online server
   * loads its models with 150 (README "Online serving" has the measurements).
   */
  inlineBudgetUs?: number;
  /** The gate that online requests mark and bulk work reads; default the process's (core/online-activity.ts). */
  activity?: OnlineActivity;
  /** Run zero batches of 1 and maxBatchSize rows in each worker before load() resolves; default true. */
  warmup?: boolean;
  /** The outputs to return (ORT fetches only these); default every output. */
  fetch?: string[];
  clock?: Clock;
  logger?: Logger;
  metrics?: Metrics;
}

export interface InferOptions {
  /** Higher runs first; FIFO within a priority. Default 0. */
  priority?: number;
  /** Clock time (ms) after which the request is rejected with DEADLINE_EXCEEDED instead of being run. */
  deadline?: number;
  /** When the queue is full, wait for room instead of failing with OVERLOADED. Default false. */
  wait?: boolean;
  /**
   * Do not hold this request back for maxQueueDelayMs: it joins whatever else is queued
   * at the end of the current event-loop round (requests read from other sockets in the
   * same round batch with it) and runs as soon as a worker is free. For online requests:
   * under load, waiting on the delay timer leaves the CPU idle while callers wait. A
   * maxQueueDelayMs set explicitly for the model still applies (the owner asked for it).
   */
  noDelay?: boolean;
  /** Aborting it cancels the request (CANCELLED): a queued one leaves the queue at once. */
  signal?: CancelSignal;
}

export interface TensorInfo {
  name: string;
  /** ORT type name: 'float32', 'int64', ... ('unknown' when the runtime gives no metadata). */
  type: string;
  /** Numbers for fixed sizes, strings for symbolic ones (e.g. 'N'); [] when unknown. */
  dims: (number | string)[];
}

/** One output for one request. int64/uint32/uint64 come as Float64Array, bool and small ints as Int32Array. */
export interface OutputTensor {
  data: Float32Array | Float64Array | Int32Array;
  dims: number[];
}

export type ModelOutput = Record<string, OutputTensor>;

export type ResolvedOptions = Required<Omit<ModelOptions, 'metrics'>> & { metrics: Metrics | undefined; /** maxQueueDelayMs was given, not defaulted. */ explicitDelay: boolean };

function positiveInt(name: string, v: number, what: string): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`model "${name}": ${what} must be a positive integer, got ${v}`);
  return v;
}

function niceValue(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 19) throw new RangeError(`model "${name}": bulkNice must be an integer from 0 to 19, got ${v}`);
  return v;
}

function budget(name: string, v: number): number {
  if (!(v >= 0) || !Number.isFinite(v)) throw new RangeError(`model "${name}": inlineBudgetUs must be a number of microseconds >= 0, got ${v}`);
  return v;
}

export function resolveOptions(o: ModelOptions): ResolvedOptions {
  const workers = positiveInt(o.name, o.workers ?? availableParallelism(), 'workers');
  const maxBatchSize = positiveInt(o.name, o.maxBatchSize ?? 1024, 'maxBatchSize');
  const maxQueueDelayMs = o.maxQueueDelayMs ?? 2;
  if (!(maxQueueDelayMs >= 0)) throw new RangeError(`model "${o.name}": maxQueueDelayMs must be >= 0`);
  return {
    name: o.name,
    path: o.path,
    executionProviders: o.executionProviders?.length ? o.executionProviders : ['cpu'],
    workers,
    intraOpNumThreads: positiveInt(o.name, o.intraOpNumThreads ?? 1, 'intraOpNumThreads'),
    maxBatchSize,
    maxQueueDelayMs,
    explicitDelay: o.maxQueueDelayMs !== undefined,
    maxQueueRows: positiveInt(o.name, o.maxQueueRows ?? maxBatchSize * workers * 8, 'maxQueueRows'),
    bulkSliceRows: positiveInt(o.name, o.bulkSliceRows ?? 256, 'bulkSliceRows'),
    bulkNice: niceValue(o.name, o.bulkNice ?? 10),
    inlineBudgetUs: budget(o.name, o.inlineBudgetUs ?? 0),
    activity: o.activity ?? onlineActivity,
    warmup: o.warmup ?? true,
    fetch: o.fetch ?? [],
    clock: o.clock ?? systemClock,
    logger: o.logger ?? createLogger('sluice:model'),
    metrics: o.metrics,
  };
}
