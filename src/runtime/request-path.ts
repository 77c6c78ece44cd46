/**
 * The request path: a topology's pipeline run over records that arrive one request at a
 * time (the online server's topology endpoint and the request-reply bridge). The same
 * operators as streaming and batch, with three differences:
 * - stateful steps answer with `lookup` from a read-only view of their keyed state (the
 *   stream's state: the store, and in `sluice run --serve` the live task's uncommitted
 *   changes over it); nothing a request does is written;
 * - terminal steps (`route`, `sink`) do not write: the answer names the sink a record
 *   would have gone to;
 * - a record that fails gets its own error (code, message, step) and the others go on.
 * Model calls go through the shared ModelRunner with the request's priority, deadline and
 * cancellation (see `onlineModels`), so concurrent requests are batched together.
 */
import { partitionOfKey } from '../../connectors/embedded/index.js';
import type { CancelSignal } from '../core/cancel.js';
import { systemClock, type Clock } from '../core/clock.js';
import { SluiceError, ensureError, type ErrorCode } from '../core/errors.js';
import type { StreamRecord } from '../core/record.js';
import { OPERATORS, type Operator, type OperatorContext, type ScoringModel } from '../operators/index.js';
import { KeyedStateBackend, MemoryStateStore, type StateStore } from '../state/index.js';
import type { TopologyDefinition } from '../topology/schema.js';
import { checkRequired, requiredInputFields, type RequiredField } from './request-fields.js';
import { loadUdf } from './resources.js';

/** A failed record's slot in the answer. */
export interface RecordError {
  code: ErrorCode;
  message: string;
  /** The step that failed it (its id). */
  step: string;
}

/** What the request path made of one record that reached the end of the pipeline. */
export interface RoutedRecord {
  /** The sink it would have been written to. */
  route: string;
  key: string | null;
  value: Record<string, unknown>;
}

/** One request record's answer: routed (once, or several times after a flatMap), filtered, or failed. */
export type RecordAnswer =
  | RoutedRecord
  | { outputs: RoutedRecord[] }
  | { route: null; filteredBy: string }
  | { error: RecordError };

/** The part of a ModelRunner the online side needs. */
export interface OnlineRunner extends ScoringModel {
  infer(data: Float32Array, rows: number, opts?: { wait?: boolean; priority?: number; deadline?: number; signal?: CancelSignal; noDelay?: boolean }): ReturnType<ScoringModel['infer']>;
}

/**
 * Wraps runners so every call made inside a request (by the score step) runs at online
 * priority with the request's deadline and cancellation, is shed (never waits) when
 * the model's queue is full, and is not held back for the batching delay (noDelay).
 */
export function onlineModels(models: ReadonlyMap<string, OnlineRunner>, priority: number): Map<string, ScoringModel> {
  const out = new Map<string, ScoringModel>();
  for (const [name, m] of models) {
    out.set(name, {
      name: m.name,
      featureCount: m.featureCount,
      outputs: m.outputs,
      // The call's deadline and signal come from the score step (OperatorContext.call); `wait` is dropped: online calls are shed.
      infer(data, rows, opts) {
        return m.infer(data, rows, { priority, noDelay: true, ...(opts?.deadline !== undefined ? { deadline: opts.deadline } : {}), ...(opts?.signal ? { signal: opts.signal } : {}) });
      },
    });
  }
  return out;
}

/** Where the request path reads keyed state. */
export interface StateSource {
  store: StateStore;
  /** A running job's live backend of a step in a task, read before the store (run --serve). */
  live?(task: string, opId: string): KeyedStateBackend | undefined;
  /** Partitions of a topic source's topic (to find the task that owns a key). */
  partitions?(topic: string): number | undefined;
}

export interface RequestPathOptions {
  /** Models as the score steps should call them (see onlineModels). */
  models: ReadonlyMap<string, ScoringModel>;
  baseDir: string;
  state?: StateSource;
  clock?: Clock;
}

export interface CallOptions {
  /** Clock ms after which model calls fail with DEADLINE_EXCEEDED. */
  deadline?: number;
  signal?: CancelSignal;
  /**
   * Each record's key as the request gives it (the producer's key, in a topology keyed by
   * it rather than by a keyBy step); a keyBy step replaces it, as it does in the stream.
   */
  keys?: readonly (string | null | undefined)[];
  /** Read state from this task (`<source>-<partition>`) instead of the one the key hashes to: the bridge's task that read the request. */
  task?: string;
}

/** The stateful kinds; their steps need `lookup`. */
const STATEFUL = new Set(['aggregate', 'window']);

export class RequestPath {
  /** Fields each record must carry, checked per record before the pipeline runs (see request-fields.ts). */
  readonly required: RequiredField[];
  private constructor(
    readonly definition: TopologyDefinition,
    private readonly ops: Operator[],
    private readonly o: RequestPathOptions & { clock: Clock },
  ) {
    this.required = requiredInputFields(definition);
  }

  static async create(def: TopologyDefinition, o: RequestPathOptions): Promise<RequestPath> {
    // Stateful steps get a throwaway backend at creation; requests read through per-call views.
    const scratch = new MemoryStateStore();
    const clock = o.clock ?? systemClock;
    const deps = {
      models: o.models,
      loadUdf: (m: string, e: string) => loadUdf(o.baseDir, m, e),
      state: (opId: string) => new KeyedStateBackend(scratch, { namespace: `scratch/${opId}/`, clock }),
    };
    const ops: Operator[] = [];
    for (const [i, step] of def.pipeline.entries()) {
      const [kind, config] = Object.entries(step)[0] as [string, unknown];
      const id = (config as { id?: string } | null)?.id ?? `${kind}-${i}`;
      const op = await OPERATORS.get(kind)!.create(config as never, deps, id);
      if (STATEFUL.has(kind) && !op.lookup) throw new SluiceError('INVALID_TOPOLOGY', `pipeline[${i}].${kind}: step "${id}" keeps state but cannot answer online requests`);
      ops.push(op);
    }
    for (const op of ops) await op.open?.();
    return new RequestPath(def, ops, { ...o, clock });
  }

  /** The ids of the steps that read keyed state. */
  get statefulSteps(): string[] {
    return this.ops.filter((op) => op.lookup).map((op) => op.id);
  }

  async close(): Promise<void> {
    for (const op of this.ops) await op.close?.();
  }

  /**
   * Each value's entity key (what the topology keys its state by): the steps up to and
   * including the first `keyBy` run on a copy of the record; a record without one (no
   * keyBy, or it failed or was filtered before it) gets null.
   */
  async keysOf(values: readonly unknown[], given?: readonly (string | null | undefined)[]): Promise<(string | null)[]> {
    const upTo = this.ops.findIndex((op) => op.kind === 'keyBy');
    if (upTo < 0) return values.map((_, i) => given?.[i] ?? null);
    const keys: (string | null)[] = values.map(() => null);
    let batch: StreamRecord[] = [];
    for (const [i, v] of values.entries()) {
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) batch.push({ key: given?.[i] ?? null, value: structuredClone(v) as Record<string, unknown>, timestamp: this.o.clock.now(), headers: {}, position: { source: 'online', partition: 0, offset: i } });
    }
    const ctx: OperatorContext = { operatorId: 'keys', clock: this.o.clock, deadLetter: () => undefined, emit: () => undefined };
    for (const op of this.ops.slice(0, upTo + 1)) {
      if (!batch.length) break;
      batch = await op.process(batch, ctx);
    }
    for (const r of batch) keys[r.position.offset] = r.key;
    return keys;
  }

  /** Answers each value, in order. Throws only for what fails the whole call (a retriable model error: overload, deadline, cancel, shutdown). */
  answer(values: readonly unknown[], opts: CallOptions = {}): Promise<RecordAnswer[]> {
    return this.run(values, opts);
  }

  private async run(values: readonly unknown[], opts: CallOptions): Promise<RecordAnswer[]> {
    const now = this.o.clock.now();
    // What the score steps' model calls carry (no AsyncLocalStorage: its promise hooks slowed every promise in the process).
    const call = { ...(opts.deadline !== undefined ? { deadline: opts.deadline } : {}), ...(opts.signal ? { signal: opts.signal } : {}) };
    const answers: (RecordAnswer | undefined)[] = new Array(values.length).fill(undefined);
    const routed: RoutedRecord[][] = values.map(() => []);
    let batch: StreamRecord[] = [];
    next: for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (typeof v !== 'object' || v === null || Array.isArray(v)) {
        answers[i] = { error: { code: 'INVALID_INPUT', message: `record ${i} must be a JSON object of fields; got ${Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v}`, step: 'request' } };
        continue;
      }
      for (const r of this.required) {
        const e = checkRequired(v as Record<string, unknown>, r);
        if (e) {
          answers[i] = { error: { code: e.code, message: e.message, step: r.step } };
          continue next;
        }
      }
      batch.push({ key: opts.keys?.[i] ?? null, value: v as Record<string, unknown>, timestamp: now, headers: {}, position: { source: 'online', partition: 0, offset: i } });
    }
    // Which records each step let through, by offset: a record that a step drops without an answer or a route was filtered there.
    const through = new Uint8Array(values.length);
    for (const op of this.ops) {
      if (!batch.length) break;
      const before = batch.map((r) => r.position.offset);
      const ctx: OperatorContext = {
        operatorId: op.id,
        clock: this.o.clock,
        call,
        deadLetter: (r, err) => {
          answers[r.position.offset] ??= { error: { code: err.code, message: err.message, step: op.id } };
        },
        emit: (sink, recs) => {
          if (!Array.isArray(recs)) recs = recs.toRecords();
          for (const r of recs) routed[r.position.offset]?.push({ route: sink, key: r.key, value: r.value });
        },
      };
      try {
        batch = op.lookup ? await this.lookup(op, batch, ctx, opts.task) : await op.process(batch, ctx);
      } catch (err) {
        const e = ensureError(err, 'INTERNAL', { operator: op.id });
        if (e.retriable) throw e;
        // A non-retriable failure of a whole step fails the records that were in it.
        for (const r of batch) answers[r.position.offset] ??= { error: { code: e.code, message: e.message, step: op.id } };
        batch = [];
        break;
      }
      for (const r of batch) through[r.position.offset] = 1;
      for (const off of before) {
        if (!through[off] && answers[off] === undefined && routed[off]!.length === 0) answers[off] = { route: null, filteredBy: op.id };
      }
      for (const r of batch) through[r.position.offset] = 0;
    }
    return answers.map((a, i) => {
      const r = routed[i]!;
      if (r.length === 1) return r[0]!;
      if (r.length > 1) return { outputs: r };
      return a ?? { error: { code: 'INTERNAL', message: 'the record left the pipeline without an answer', step: 'request' } };
    });
  }

  /** Runs a stateful step's lookup over a view of the state of the task that owns each record's key. */
  private async lookup(op: Operator, batch: StreamRecord[], ctx: OperatorContext, fixedTask: string | undefined): Promise<StreamRecord[]> {
    const byTask = new Map<string, StreamRecord[]>();
    for (const r of batch) {
      const task = fixedTask ?? this.ownerTask(r.key);
      const list = byTask.get(task);
      if (list) list.push(r);
      else byTask.set(task, [r]);
    }
    const out: StreamRecord[] = [];
    for (const [task, recs] of byTask) {
      const src = this.o.state;
      const store = src?.store ?? new MemoryStateStore();
      const live = src?.live?.(task, op.id);
      const view = new KeyedStateBackend(store, { namespace: `state/${this.definition.name}/${task}/${op.id}/`, clock: this.o.clock, cacheEntries: recs.length + 16, ...(live ? { overlay: live } : {}) });
      out.push(...(await op.lookup!(recs, ctx, view)));
    }
    // Keep request order (tasks were visited one after another).
    return out.sort((a, b) => a.position.offset - b.position.offset);
  }

  /**
   * The task (`<source>-<partition>`) whose state holds `key`: with one source partition
   * that one; otherwise the partition of the first topic source that the key hashes to
   * (Kafka's partitioner, as the embedded log uses), since without repartitioning a key's
   * state lives in the partition its records were produced to.
   */
  private ownerTask(key: string | null): string {
    const [name, cfg] = Object.entries(this.definition.sources)[0]!;
    if (cfg.type !== 'topic' || key === null) return `${name}-0`;
    const n = this.o.state?.partitions?.(cfg.topic) ?? cfg.partitions ?? 1;
    return `${name}-${n > 1 ? partitionOfKey(key, n) : 0}`;
  }
}
