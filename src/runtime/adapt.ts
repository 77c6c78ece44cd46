import type { ColumnarBatch } from '../core/columns.js';
import type { StreamRecord } from '../core/record.js';
import type { Operator, OperatorContext } from '../operators/index.js';

const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/**
 * Runs a record-at-a-time step that declares `columnar: { reads, writes }` on a columnar
 * batch: each row becomes a small record holding only the fields the step reads, the step
 * runs as usual, and the fields it sets come back as columns. Rows it dropped are dropped;
 * dead letters and side outputs get the whole row.
 */
export async function processAdapted(op: Operator & { columnar: { reads: readonly string[]; writes: readonly string[] } }, batch: ColumnarBatch, ctx: OperatorContext): Promise<ColumnarBatch> {
  const { reads, writes } = op.columnar;
  const n = batch.rows;
  const records: StreamRecord[] = new Array(n);
  const row = new Map<StreamRecord, number>();
  for (let i = 0; i < n; i++) {
    const value: Record<string, unknown> = {};
    for (const f of reads) value[f] = batch.value(f, i);
    const r: StreamRecord = { key: batch.keys?.[i] ?? null, value, timestamp: batch.timestamp, headers: NO_HEADERS, position: batch.position(i) };
    records[i] = r;
    row.set(r, i);
  }
  // A record the step hands elsewhere is rebuilt whole: its row plus what the step set on it.
  const whole = (r: StreamRecord): StreamRecord => {
    const i = row.get(r);
    if (i === undefined) return r;
    const full = batch.record(i);
    Object.assign(full.value, r.value);
    return full;
  };
  const adapted: OperatorContext = {
    operatorId: ctx.operatorId,
    clock: ctx.clock,
    deadLetter: (r, err) => ctx.deadLetter(whole(r), err),
    emit: (sink, recs) => ctx.emit(sink, Array.isArray(recs) ? recs.map(whole) : recs),
  };
  const out = await op.process(records, adapted);
  const keep = new Uint8Array(n);
  const cols = writes.map(() => new Array<unknown>(n).fill(null));
  for (const r of out) {
    const i = row.get(r);
    if (i === undefined) throw new Error(`step "${op.id}" declares columnar use but returned a record it was not given`);
    keep[i] = 1;
    writes.forEach((f, k) => (cols[k]![i] = r.value[f] ?? null));
  }
  writes.forEach((f, k) => batch.setColumn(f, numeric(cols[k]!) ?? cols[k]!));
  return batch.select(keep);
}

/** A column of numbers only (no nulls) as a Float64Array, so later steps take the fast path. */
function numeric(values: unknown[]): Float64Array | null {
  for (const v of values) if (typeof v !== 'number') return null;
  return Float64Array.from(values as number[]);
}
