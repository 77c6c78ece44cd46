/**
 * Opening an onnxruntime session the way sluice runs models: one intra-op thread by default,
 * sequential execution, full graph optimization, GPU providers falling back to CPU. Used by
 * the worker threads and by the runner's inline session (inline.ts), so both compute the
 * same numbers from the same inputs.
 */
import * as ort from 'onnxruntime-node';
import type { WorkerInit } from './protocol.js';

export interface OpenedSession {
  session: ort.InferenceSession;
  providers: string[];
  /** Why the requested GPU provider was dropped for CPU; null when none was. */
  fallback: string | null;
}

export const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e)).trim();

export async function openSession(init: WorkerInit): Promise<OpenedSession> {
  const base: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: init.intraOpNumThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // Fatal only: every error reaches the caller as MODEL_ERROR / MODEL_LOAD_FAILED with
    // ORT's message, so ORT's own stderr line per failed batch would be a duplicate.
    logSeverityLevel: 4,
  };
  try {
    return { session: await ort.InferenceSession.create(init.path, { ...base, executionProviders: init.providers }), providers: init.providers, fallback: null };
  } catch (err) {
    // GPU providers are compiled in, but when their shared libraries are missing
    // session creation throws instead of falling back: retry on CPU alone.
    if (!init.fallbackToCpu || init.providers.every((p) => p === 'cpu')) throw err;
    const session = await ort.InferenceSession.create(init.path, { ...base, executionProviders: ['cpu'] });
    return { session, providers: ['cpu'], fallback: errorMessage(err) };
  }
}

/** Runs one float32 batch; only `fetch` outputs when given (an unused int64 output alone costs ~0.3 ms per 4096 rows to convert). */
export function runSession(session: ort.InferenceSession, inputName: string, data: Float32Array, dims: number[], fetch: string[]): Promise<ort.InferenceSession.OnnxValueMapType> {
  const feeds = { [inputName]: new ort.Tensor('float32', data, dims) };
  return fetch.length ? session.run(feeds, fetch) : session.run(feeds);
}
