// Measures, inside an online server process, what a p99 on a loaded machine cannot show:
// how long the main thread stalls (event-loop delay) and how long online model calls take
// from the call to the answer (queue wait + inference), next to the rows bulk work
// (priority 0: a backfill) scored meanwhile. SIGUSR2 starts a fresh count; SIGUSR1 prints
// "PROBE <json>" for the count so far, then starts a fresh one.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { ModelRunner } from '../../src/model/runner.js';
import { CORRELATION_HEADER, type BridgeTransport } from '../../src/online/bridge/transport.js';

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
  /** Request-reply bridge hops (ms, p50/p99), when the transport was wrapped. */
  bridge?: Record<string, { p50: number; p99: number }>;
}

export interface Probe {
  report(): ProbeReport;
  /** Times each request's hops through the bridge (by correlation id); returns the wrapped transport. */
  wrapTransport(t: BridgeTransport): BridgeTransport;
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
  // Per correlation id: request send called, send done, responder got it, reply send called, reply send done, client got the reply.
  let hops = new Map<string, number[]>();
  const reset = (): void => {
    loop.reset();
    since = performance.now();
    online = [];
    bulkRows = 0;
    hops = new Map();
  };
  process.on('SIGUSR2', reset);
  process.on('SIGUSR1', () => {
    process.stdout.write(`PROBE ${JSON.stringify(probe.report())}\n`);
    reset();
  });
  const stamp = (id: string | undefined, i: number): void => {
    if (id === undefined) return;
    let h = hops.get(id);
    if (!h) hops.set(id, (h = []));
    h[i] ??= performance.now();
  };
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
  const probe: Probe = {
    wrapTransport(t) {
      const isReply = (topic: string) => topic.endsWith('-replies');
      return {
        ...t,
        async send(topic, messages) {
          const at = isReply(topic) ? 3 : 0;
          for (const m of messages) stamp(m.headers[CORRELATION_HEADER], at);
          await t.send(topic, messages);
          for (const m of messages) stamp(m.headers[CORRELATION_HEADER], at + 1);
        },
        subscribe(topic, group, handler) {
          const at = isReply(topic) ? 5 : 2;
          return t.subscribe(topic, group, (messages) => {
            for (const m of messages) stamp(m.headers[CORRELATION_HEADER], at);
            return handler(messages);
          });
        },
      };
    },
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
        ...(hops.size ? { bridge: bridgeHops([...hops.values()]) } : {}),
      };
    },
  };
  return probe;
}

/** p50/p99 of each hop over the requests that made every hop. */
function bridgeHops(all: number[][]): Record<string, { p50: number; p99: number }> {
  const names = ['produceRequest', 'requestToResponder', 'answer', 'produceReply', 'replyToClient', 'total'];
  const done = all.filter((h) => h.length === 6 && h.every((x) => x !== undefined));
  const out: Record<string, { p50: number; p99: number }> = {};
  names.forEach((name, i) => {
    const xs = done.map((h) => (name === 'total' ? h[5]! - h[0]! : h[i + 1]! - h[i]!)).sort((a, b) => a - b);
    out[name] = { p50: Math.round(pct(xs, 50) * 100) / 100, p99: Math.round(pct(xs, 99) * 100) / 100 };
  });
  out.requests = { p50: done.length, p99: all.length };
  return out;
}
