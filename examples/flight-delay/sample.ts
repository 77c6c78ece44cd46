// Writes an evenly spaced sample of flights-3m.parquet (every k-th flight, so every month
// and the hold-out month are in it, in date order) for a quick run of the example:
// `npm start -- --sample 30000`. The columns keep the source's types, so the topology
// reads the sample exactly as it reads the file.
// Usage: node dist/examples/flight-delay/sample.js ROWS OUT.parquet [IN.parquet]
import { createParquetWriter, readParquetColumns, readParquetMetadata, type ParquetRowWriter } from '../../connectors/parquet/index.js';

const [rowsArg, out, input = 'node_modules/vega-datasets/data/flights-3m.parquet'] = process.argv.slice(2);
const want = Number(rowsArg);
if (!Number.isInteger(want) || want < 1 || !out) {
  console.error('usage: sample.js ROWS OUT.parquet [IN.parquet]   (ROWS: a whole number ≥ 1)');
  process.exit(2);
}
const total = (await readParquetMetadata(input)).rows;
const step = Math.max(1, Math.floor(total / want));
let writer: ParquetRowWriter | undefined;
let kept = 0;
for await (const b of readParquetColumns(input, { columns: ['date', 'delay', 'distance', 'origin', 'destination'], batchSize: 65536 })) {
  // The input's own column types (a timestamp, two int64, two strings), declared by the reader.
  writer ??= await createParquetWriter(out, { columns: Object.entries(b.types).map(([name, t]) => ({ name, type: t!.type, utc: t!.utc })) });
  const rows: Record<string, unknown>[] = [];
  for (let i = (step - (b.firstRow % step)) % step; i < b.rows && kept + rows.length < want; i += step) {
    const row: Record<string, unknown> = {};
    for (const [name, col] of Object.entries(b.columns)) row[name] = b.nulls[name]?.[i] === 1 ? null : (col as ArrayLike<unknown>)[i];
    rows.push(row);
  }
  await writer.writeRows(rows);
  kept += rows.length;
  if (kept >= want) break;
}
await writer?.close();
console.log(`sample: ${kept.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} flights (every ${step}th) in ${out}`);
