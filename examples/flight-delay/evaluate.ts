// Computes the model's ROC AUC on the held-out month from the scored Parquet parts
// that `sluice backfill examples/flight-delay/topology.yaml` wrote.
// Usage: node dist/examples/flight-delay/evaluate.js [SCORED_DIR]
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readParquetColumns } from '../../connectors/parquet/index.js';
import { rocAuc } from './auc.js';

const here = resolve('examples/flight-delay');
const card = JSON.parse(readFileSync(join(here, 'model/model-card.json'), 'utf8')) as { split: { cutoff_ms: number; cutoff_iso: string }; metrics: { holdout_roc_auc: number } };
const dir = resolve(process.argv[2] ?? join(here, 'out/scored'));
const parts = readdirSync(dir).filter((f) => f.startsWith('part-') && f.endsWith('.parquet')).sort();
if (!parts.length) {
  console.error(`no scored parts in ${dir}: run the backfill first`);
  process.exit(1);
}
const scores: number[] = [];
const labels: number[] = [];
let all = 0;
for (const part of parts) {
  for await (const b of readParquetColumns(join(dir, part), { columns: ['date', 'delayed', 'delay_probability'], batchSize: 65536 })) {
    const date = b.columns.date as Float64Array;
    const delayed = b.columns.delayed as Float64Array;
    const p = b.columns.delay_probability as Float64Array;
    all += b.rows;
    for (let i = 0; i < b.rows; i++) {
      if (date[i]! >= card.split.cutoff_ms) {
        scores.push(p[i]!);
        labels.push(delayed[i]!);
      }
    }
  }
}
const auc = rocAuc(scores, labels);
console.log(`scored rows: ${all.toLocaleString('en-US')} in ${parts.length} part file(s)`);
console.log(`hold-out (date >= ${card.split.cutoff_iso}): ${scores.length.toLocaleString('en-US')} flights, ${labels.filter((l) => l === 1).length.toLocaleString('en-US')} delayed > 15 min`);
console.log(`ROC AUC (scored by sluice): ${auc.toFixed(4)}   (training script's own: ${card.metrics.holdout_roc_auc.toFixed(4)})`);
