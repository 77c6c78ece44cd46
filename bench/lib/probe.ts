// Measures, inside an online server process, what a p99 on a loaded machine cannot show:
// how long the main thread stalls (event-loop delay) and how long online model calls take
// from the call to the answer (queue wait + inference), next to the rows bulk work
// (priority 0: a backfill) scored meanwhile. SIGUSR2 starts a fresh count.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { ModelRunner } from '../../src/model/runner.js';

export interface ProbeReport {
  seconds: number;
  loopDelayP50Ms: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  onlineCalls: number;
  onlineCallP50Ms: number;
  onlineCallP99Ms: number;
  onlineCallMaxMs: number;
  bulkRows: number;
  bulkRowsPerS: number;
}

export interface Probe {
  report(): ProbeReport;
}

const pct = (sorted: number[], p: number): number => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]! : NaN);
const ms = (ns: number): number => Math.round(ns / 1e4) / 100;

/** Wraps each runner's infer (online calls are those with a priority above 0). */
export function startProbe(runners: Iterable<ModelRunner>): Probe {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  let since = performance.now();
  let online: number[] = [];
  let bulkRows = 0;
  process.on('SIGUSR2', () => {
    loop.reset();
    since = performance.now();
    online = [];
    bulkRows = 0;
  });
  for (const r of runners) {
    const infer = r.infer.bind(r);
    r.infer = (data, rows, opts = {}) => {
      const t0 = performance.now();
      const p = infer(data, rows, opts);
      if ((opts.priority ?? 0) > 0) p.then(() => online.push(performance.now() - t0), () => undefined);
      else p.then(() => (bulkRows += rows), () => undefined);
      return p;
    };
  }
  return {
    report() {
      const seconds = (performance.now() - since) / 1000;
      const sorted = [...online].sort((a, b) => a - b);
      const r2 = (x: number) => Math.round(x * 100) / 100;
      return {
        seconds: r2(seconds),
        loopDelayP50Ms: ms(loop.percentile(50)),
        loopDelayP99Ms: ms(loop.percentile(99)),
        loopDelayMaxMs: ms(loop.max),
        onlineCalls: sorted.length,
        onlineCallP50Ms: r2(pct(sorted, 50)),
        onlineCallP99Ms: r2(pct(sorted, 99)),
        onlineCallMaxMs: r2(sorted[sorted.length - 1] ?? NaN),
        bulkRows,
        bulkRowsPerS: Math.round(bulkRows / seconds),
      };
    },
  };
}
