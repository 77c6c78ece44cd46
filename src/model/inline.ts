/**
 * A session on the main thread for small online batches while bulk work runs on the workers
 * (ModelOptions.inlineBudgetUs).
 *
 * Beside a backfill or a stream in the same process, the workers run bulk slices (niced), and an
 * online batch handed to one shares the CPU with them; on the main thread it wins the CPU. Without
 * bulk work the runner keeps online batches on the workers, which answered more requests where
 * the main thread limits throughput (measured: README "Online serving"). A small model's batch of
 * a few dozen rows takes ~100 µs here, less than many of fastify's own rounds.
 *
 * The cost of a batch is estimated once, at load: the session runs zero batches of 1 and of
 * PROBE_ROWS rows and takes the fastest of a few runs of each (fixed cost + cost per row).
 * This module loads onnxruntime's native binding into the main thread, so the runner
 * imports it only when inline runs are asked for.
 */
import { performance } from 'node:perf_hooks';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { toOutputTensor } from './metadata.js';
import type { OutputTensor } from './options.js';
import type { WorkerInit } from './protocol.js';
import { openSession, runSession } from './session.js';

const PROBE_ROWS = 64;
const PROBE_REPEATS = 5;

export class InlineSession {
  private constructor(
    private readonly session: InferenceSession,
    private readonly inputName: string,
    private readonly fetch: string[],
    /** Most rows one inline batch may hold: the rows whose estimated run time fits the budget. */
    readonly maxRows: number,
    /** The estimate behind maxRows, for the log line: µs per batch and per row. */
    readonly fixedUs: number,
    readonly perRowUs: number,
  ) {}

  /**
   * Opens a CPU session like the workers' and measures it; resolves to null (session released)
   * when not even one row fits `budgetUs`.
   */
  static async open(init: WorkerInit, row: number[], maxBatch: number, budgetUs: number): Promise<InlineSession | null> {
    const { session } = await openSession({ ...init, providers: ['cpu'], fallbackToCpu: false });
    try {
      const inputName = session.inputNames[0]!;
      const time = async (rows: number): Promise<number> => {
        const dims = [rows, ...row];
        const zeros = new Float32Array(dims.reduce((a, b) => a * b, 1));
        let best = Infinity;
        for (let i = 0; i < PROBE_REPEATS; i++) {
          const t0 = performance.now();
          await runSession(session, inputName, zeros, dims, init.fetch);
          best = Math.min(best, (performance.now() - t0) * 1000);
        }
        return best;
      };
      const one = await time(1);
      const many = await time(Math.min(PROBE_ROWS, maxBatch));
      const perRowUs = maxBatch > 1 ? Math.max(0, (many - one) / (Math.min(PROBE_ROWS, maxBatch) - 1)) : 0;
      const fixedUs = Math.max(0, one - perRowUs);
      const fit = fixedUs > budgetUs ? 0 : perRowUs === 0 ? maxBatch : Math.floor((budgetUs - fixedUs) / perRowUs);
      const maxRows = Math.min(maxBatch, fit);
      if (maxRows < 1) {
        await session.release();
        return null;
      }
      return new InlineSession(session, inputName, init.fetch, maxRows, fixedUs, perRowUs);
    } catch (err) {
      await session.release().catch(() => undefined);
      throw err;
    }
  }

  /** Runs one batch on this thread (onnxruntime defers the blocking call to the check phase). */
  async run(data: Float32Array, dims: number[]): Promise<Record<string, OutputTensor>> {
    const result = await runSession(this.session, this.inputName, data, dims, this.fetch);
    const outputs: Record<string, OutputTensor> = {};
    for (const [name, t] of Object.entries(result)) outputs[name] = toOutputTensor(name, t as Tensor);
    return outputs;
  }

  close(): Promise<void> {
    return this.session.release().catch(() => undefined);
  }
}
