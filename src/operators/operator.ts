import type { Clock } from '../core/clock.js';
import type { CancelSignal } from '../core/cancel.js';
import type { SluiceError } from '../core/errors.js';
import type { ColumnarBatch } from '../core/columns.js';
import type { KeyedStateBackend, StateWrite } from '../state/index.js';
import type { StreamRecord } from '../core/record.js';
import type { StepKind } from '../topology/catalog.js';

/**
 * An operator transforms micro-batches. The runtime promises:
 * - `open` is awaited once before the first `process`, `close` once after the last;
 * - `process` is never called concurrently on one instance, and batches arrive in
 *   source order, unless the operator sets `concurrent: true` (it keeps no state
 *   between calls, so overlapping calls are safe and let scoring overlap I/O);
 *   each task (source partition) has its own instances;
 * - the operator owns the batch it is given and may change its records in place;
 * - a record that cannot be processed goes to `ctx.deadLetter` with a SluiceError and the
 *   rest of the batch carries on; `ctx.deadLetter` throws when the topology says onError: fail.
 */
export interface Operator {
  readonly id: string;
  readonly kind: string;
  readonly concurrent?: boolean;
  open?(): Promise<void>;
  process(batch: StreamRecord[], ctx: OperatorContext): StreamRecord[] | Promise<StreamRecord[]>;
  /** The same work on a columnar batch, without one object per row; operators without it get records. */
  processColumns?(batch: ColumnarBatch, ctx: OperatorContext): ColumnarBatch | Promise<ColumnarBatch>;
  /**
   * For a step that passes each record on or drops it, and only reads `reads` and sets
   * `writes`: the runtime may run `process` on small records holding just those fields
   * and write the results back as columns, so a columnar batch stays columnar.
   */
  readonly columnar?: { reads: readonly string[]; writes: readonly string[] };
  /**
   * Stateful steps: called when a batch reaches this step, before its turn (an earlier
   * batch may still be in this step): start reading the state the batch will need (e.g.
   * `backend.prefetch(keys)`), so the store read overlaps with the work on earlier
   * batches. It must not change state or wait; `process` still loads what it reads.
   */
  prefetch?(batch: StreamRecord[] | ColumnarBatch): void;
  /**
   * Called when the task's source is idle (no records for a while) with the processing
   * time; returns records to pass on (e.g. windows closed by an idle-advanced watermark).
   */
  onTick?(now: number, ctx: OperatorContext): StreamRecord[] | Promise<StreamRecord[]>;
  /** Called once when a bounded input is exhausted (not on a stop): emit what is pending (e.g. close every window). */
  onEnd?(ctx: OperatorContext): StreamRecord[] | Promise<StreamRecord[]>;
  /**
   * Stateful operators: the state changes made since the last call, as kv writes. The
   * runtime calls it after each batch (and tick) and commits them in the same checkpoint
   * as that batch's outputs and source position.
   */
  drainState?(): StateWrite[];
  /**
   * Stateful steps, for online requests (the read-only request path): what `process`
   * would pass on for these records, read from `state` and changing nothing. `state` is a
   * backend for this call alone (it reads the step's namespace and is then thrown away).
   * A stateful step without it cannot answer requests.
   */
  lookup?(batch: StreamRecord[], ctx: OperatorContext, state: KeyedStateBackend): Promise<StreamRecord[]>;
  close?(): Promise<void>;
}

export interface OperatorContext {
  readonly operatorId: string;
  readonly clock: Clock;
  deadLetter(record: StreamRecord, err: SluiceError): void;
  /** Sends records (or a columnar batch) to a named sink: terminal steps, and side outputs such as late records. */
  emit(sink: string, records: StreamRecord[] | ColumnarBatch): void;
  /** On the online request path: the request's deadline and cancellation, which the step's model calls carry. */
  readonly call?: { readonly deadline?: number; readonly signal?: CancelSignal };
}

/** What an operator factory may use: shared resources created by the runtime. */
export interface OperatorDeps {
  /** Model runners by topology model name (typed loosely so operators don't depend on the runner's module). */
  models: ReadonlyMap<string, ScoringModel>;
  /** Loads a named export of a UDF module (path relative to the topology file). */
  loadUdf(module: string, exportName: string): Promise<(...args: unknown[]) => unknown>;
  /**
   * Set when the task reads a repartition topic: the upstream tasks that write it. Event-time
   * steps keep a watermark per upstream task and go by the slowest (see WatermarkTracker).
   */
  upstreams?: readonly string[];
  /** Keyed state for a stateful operator in this task, namespaced by the operator's id. */
  state(operatorId: string): KeyedStateBackend;
}

/** The part of a ModelRunner that the score operator uses. */
export interface ScoringModel {
  readonly name: string;
  readonly featureCount: number | null;
  readonly outputs: readonly { name: string; dims: readonly (number | string)[] }[];
  infer(data: Float32Array, rows: number, opts?: { wait?: boolean; priority?: number; deadline?: number; signal?: CancelSignal }): Promise<Record<string, { data: Float32Array | Float64Array | Int32Array; dims: number[] }>>;
}

export interface OperatorSpec<C = unknown> extends StepKind {
  create(config: C, deps: OperatorDeps, id: string): Operator | Promise<Operator>;
}
