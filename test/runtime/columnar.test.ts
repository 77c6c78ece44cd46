import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createParquetWriter } from '../../connectors/parquet/index.js';
import { memoryLogger } from '../../src/core/logger.js';
import { Job } from '../../src/runtime/job.js';
import { topology } from '../../src/topology/builder.js';
import { readParts } from '../batch/helpers.js';

test('a Parquet job through keyBy and aggregate gives the same rows as the record path', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-columnar-'));
  try {
    const rows = Array.from({ length: 3000 }, (_, i) => ({ user: `u${i % 7}`, amount: (i % 5) - 1, note: i % 11 === 0 ? null : `n${i}` }));
    const w = await createParquetWriter(join(dir, 'in.parquet'), { rowGroupSize: 1000 });
    await w.writeRows(rows);
    await w.close();
    const build = (format: 'parquet' | 'jsonl', out: string) =>
      topology(`c-${format}`)
        .source('in', format === 'parquet' ? { type: 'file', path: 'in.parquet', format: 'parquet' } : { type: 'file', path: 'in.jsonl', format: 'jsonl' })
        .keyBy({ key: 'user' })
        .step('aggregate', { id: 'agg', aggregates: { n: { count: {} }, total: { sum: 'amount' }, biggest: { max: 'amount' } } })
        .filter({ where: 'amount != 3' })
        .to('out')
        .sink('out', { type: 'file', path: out, format: 'jsonl' })
        .sink('dlq', { type: 'file', path: `${out}-dlq`, format: 'jsonl' })
        .deadLetter('dlq')
        .runtime({ batchSize: 256 })
        .build();
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'in.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    for (const [fmt, out] of [['parquet', 'out-columns'], ['jsonl', 'out-rows']] as const) {
      const s = await (await Job.start({ definition: build(fmt, out), baseDir: dir }, { dataDir: join(dir, `data-${fmt}`), logger: memoryLogger() })).done;
      assert.equal(s.status, 'completed', s.error);
    }
    const columns = await readParts(join(dir, 'out-columns'));
    const records = await readParts(join(dir, 'out-rows'));
    assert.equal(columns.length, 3000 - 600);
    assert.deepEqual(columns, records);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
