import { ColumnarBatch, type Column } from '../../src/core/columns.js';

let offset = 0;
/** A columnar batch of rows: all-number fields become Float64Arrays (nulls in a mask), others plain arrays. */
export function columns(rows: Record<string, unknown>[], keys: (string | null)[], timestamp = 0): ColumnarBatch {
  const names = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cols = new Map<string, Column>();
  const nulls = new Map<string, Uint8Array>();
  for (const f of names) {
    const vals = rows.map((r) => r[f] ?? null);
    if (vals.every((v) => v === null || typeof v === 'number')) {
      cols.set(f, Float64Array.from(vals, (v) => (v === null ? 0 : (v as number))));
      if (vals.includes(null)) nulls.set(f, Uint8Array.from(vals, (v) => (v === null ? 1 : 0)));
    } else cols.set(f, vals);
  }
  const offsets = Float64Array.from(rows, () => offset++);
  return new ColumnarBatch(rows.length, cols, nulls, 'in', 0, offsets, timestamp, keys);
}

