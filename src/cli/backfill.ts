import { writeFileSync } from 'node:fs';
import { createLogger } from '../core/logger.js';
import { SluiceError } from '../core/errors.js';
import { createMetrics } from '../metrics/registry.js';
import { operatorCatalog } from '../operators/index.js';
import { connectionFor } from './connection.js';
import { describeConnection } from '../runtime/connection.js';
import { Job } from '../runtime/job.js';
import { loadTopologyFile } from '../topology/load.js';
import { parse, requirePositional } from './args.js';
import { showProgress } from './progress.js';
import { printSummary } from './run.js';

/**
 * `sluice backfill FILE`: runs a topology over bounded sources to completion. Positions
 * and output parts are checkpointed, so rerunning the same command after a crash resumes.
 */
export async function backfillCommand(argv: string[]): Promise<number> {
  const args = parse('backfill', argv, {
    'data-dir': { type: 'string' },
    connection: { type: 'string' },
    'summary-json': { type: 'string' },
    fresh: { type: 'boolean' },
    'no-progress': { type: 'boolean' },
  });
  const file = requirePositional('backfill', args.positionals, 'the topology FILE');
  const loaded = loadTopologyFile(file, operatorCatalog);
  const unbounded = Object.entries(loaded.definition.sources).filter(([, c]) => c.type === 'topic' && !c.bounded);
  if (unbounded.length) {
    throw new SluiceError('INVALID_TOPOLOGY', `${file}: a backfill needs bounded sources; ${unbounded.map(([n]) => `sources.${n}`).join(', ')} ${unbounded.length === 1 ? 'is' : 'are'} a live topic: add bounded: { from: earliest, to: latest } (or offsets/timestamps)`);
  }
  const logger = createLogger(`backfill:${loaded.definition.name}`);
  const dataDir = args.str('data-dir');
  const connection = connectionFor(loaded, args.str('connection'));
  logger.info(`topics on ${describeConnection(connection)}`);
  const job = await Job.start(loaded, { connection, metrics: createMetrics(), logger, fresh: args.flag('fresh'), ...(dataDir ? { dataDir } : {}) });
  const stopProgress = args.flag('no-progress') ? () => undefined : showProgress(job);
  const onSignal = (sig: string) => {
    logger.info(`${sig}: stopping; rerun the same command to resume from the last checkpoint`);
    void job.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const summary = await job.done;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  stopProgress();
  if (summary.status === 'completed' && summary.recordsIn === 0) logger.info('nothing to read: this backfill had already finished (use --fresh to start over)');
  printSummary(summary);
  const summaryPath = args.str('summary-json');
  if (summaryPath) writeFileSync(summaryPath, JSON.stringify(summary, null, 2) + '\n');
  return summary.status === 'completed' ? 0 : 1;
}
