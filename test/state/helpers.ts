import { ManualClock } from '../../src/core/clock.js';
import type { SluiceError } from '../../src/core/errors.js';
import type { StreamRecord } from '../../src/core/record.js';
import type { Operator, OperatorContext, OperatorDeps, OperatorSpec } from '../../src/operators/operator.js';
import { KeyedStateBackend, MemoryStateStore } from '../../src/state/index.js';

let offset = 0;

/** A record with a key and an event time (default: key 'k', time 0). */
export function rec(value: Record<string, unknown>, key: string | null = 'k', timestamp = 0): StreamRecord {
  return { key, value, timestamp, headers: {}, position: { source: 'in', partition: 0, offset: offset++ } };
}

/**
 * Runs stateful operators without the runtime: a fake context that collects dead letters
 * and side outputs, and a commit step that does what the checkpoint does (drain → apply
 * to the store → acknowledge). `restart()` gives a harness on the same store and clock
 * with empty caches, as after a crash.
 */
export class Harness {
  readonly dead: { record: StreamRecord; error: SluiceError }[] = [];
  readonly emitted = new Map<string, StreamRecord[]>();
  readonly backends = new Map<string, KeyedStateBackend>();

  constructor(
    readonly store = new MemoryStateStore(),
    readonly clock = new ManualClock(0),
    /** The backends' cache bound (small values exercise reads from the store). */
    readonly cacheEntries = 100_000,
  ) {}

  readonly deps: OperatorDeps = {
    models: new Map(),
    loadUdf: () => Promise.reject(new Error('no UDFs in state tests')),
    state: (id) => {
      const b = new KeyedStateBackend(this.store, { namespace: `state/test/t0/${id}/`, clock: this.clock, cacheEntries: this.cacheEntries });
      this.backends.set(id, b);
      return b;
    },
  };

  ctx(op: Operator): OperatorContext {
    return {
      operatorId: op.id,
      clock: this.clock,
      deadLetter: (record, error) => void this.dead.push({ record, error }),
      emit: (sink, records) => {
        if (!Array.isArray(records)) throw new Error('columnar emit not expected');
        this.emitted.set(sink, [...(this.emitted.get(sink) ?? []), ...records]);
      },
    };
  }

  async create<C>(spec: OperatorSpec<C>, config: C, id = 'op'): Promise<Operator> {
    return spec.create(config, this.deps, id);
  }

  /** Processes one batch and commits its state. */
  async run(op: Operator, batch: StreamRecord[]): Promise<StreamRecord[]> {
    const out = await op.process(batch, this.ctx(op));
    this.commit(op);
    return out;
  }

  async tick(op: Operator, now = this.clock.now()): Promise<StreamRecord[]> {
    const out = (await op.onTick?.(now, this.ctx(op))) ?? [];
    this.commit(op);
    return out;
  }

  commit(op: Operator): void {
    this.store.apply(op.drainState?.() ?? []);
    this.backends.get(op.id)?.markCommitted();
  }

  restart(): Harness {
    return new Harness(this.store, this.clock, this.cacheEntries);
  }
}

/** Window results as compact tuples, sorted, for order-insensitive comparison. */
export function summarize(records: StreamRecord[]): string[] {
  return records.map((r) => JSON.stringify([r.key, r.value])).sort();
}

/**
 * Runs a window step over batches, restarting it (fresh caches, same store) before batch
 * `restartAt`; returns what it emitted, the late count so far, and the live harness and
 * operator so the caller can end the run its own way (a tick or the end of input).
 */
export async function runWindowWithRestart<C>(spec: OperatorSpec<C>, config: C, batches: StreamRecord[][], restartAt?: number, cacheEntries?: number) {
  let h = new Harness(undefined, undefined, cacheEntries);
  let op = await h.create(spec, config, 'win');
  const out: StreamRecord[] = [];
  let late = 0;
  for (const [i, b] of batches.entries()) {
    if (i === restartAt) {
      late += h.dead.length;
      h = h.restart(); // caches gone: everything comes back from the store
      op = await h.create(spec, config, 'win');
    }
    out.push(...(await h.run(op, b.map((r) => ({ ...r, value: { ...r.value } })))));
  }
  return { out, late, h, op };
}
