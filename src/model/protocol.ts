/** Messages between the runner and its worker threads. */
import type { OutputTensor, TensorInfo } from './options.js';

export interface WorkerInit {
  path: string;
  /** ORT provider names, in order, CPU last. */
  providers: string[];
  /** Retry with CPU alone when session creation with `providers` fails (missing GPU libraries). */
  fallbackToCpu: boolean;
  intraOpNumThreads: number;
  /** Batch sizes (rows) to run on zeros before reporting ready; [] for none. */
  warmupRows: number[];
  /** Outputs to fetch; [] for all. */
  fetch: string[];
}

export type ToWorker =
  /** nice: added to the thread's starting nice value for this batch (see ModelOptions.bulkNice); the worker answers with what it got. */
  | { type: 'run'; id: number; data: Float32Array; dims: number[]; nice: number }
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; inputs: TensorInfo[]; outputs: TensorInfo[]; provider: string; providers: string[]; fallback: string | null }
  /** topology: the model loaded but the topology asked for outputs it lacks (INVALID_TOPOLOGY, not MODEL_LOAD_FAILED). */
  | { type: 'load-error'; message: string; topology?: boolean }
  | { type: 'result'; id: number; outputs: Record<string, OutputTensor>; nice: number }
  | { type: 'failed'; id: number; message: string; nice: number }
  | { type: 'closed' };
