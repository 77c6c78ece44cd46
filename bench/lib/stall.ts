import { monitorEventLoopDelay } from 'node:perf_hooks';

/** Records the main event loop's longest stall while `fn` runs (in ms). */
export async function withStallMonitor<T>(fn: () => Promise<T>): Promise<{ value: T; maxStallMs: number }> {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  try {
    const value = await fn();
    return { value, maxStallMs: h.max / 1e6 };
  } finally {
    h.disable();
  }
}
