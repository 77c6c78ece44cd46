import { SluiceError } from '../core/errors.js';
import { runCommand } from './run.js';
import { topicsCommand } from './topics.js';
import { validateCommand } from './validate.js';

/** Verb → handler. `backfill` and `serve` join this table in later work. */
const VERBS: Record<string, (argv: string[]) => Promise<number>> = {
  run: runCommand,
  validate: validateCommand,
  topics: topicsCommand,
};

const HELP = `sluice — one engine for batch, streaming and online scoring

  sluice run FILE [--until-idle] [--data-dir DIR] [--metrics-port N] [--summary-json PATH]
  sluice validate FILE
  sluice topics list | create NAME [--partitions N] | produce NAME [--file F] [--key FIELD]
                | consume NAME [--offset N] [--max N] [--values]     (all take --data-dir DIR)

The embedded log lives in --data-dir, else $SLUICE_DATA_DIR, else ./.sluice.
`;

export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (!verb || verb === 'help' || verb === '--help' || verb === '-h') {
    process.stdout.write(HELP);
    return verb ? 0 : 1;
  }
  const handler = VERBS[verb];
  if (!handler) {
    process.stderr.write(`sluice: unknown command "${verb}"; commands: ${Object.keys(VERBS).join(', ')}\n`);
    return 2;
  }
  try {
    return await handler(rest);
  } catch (err) {
    if (err instanceof SluiceError) {
      process.stderr.write(`sluice ${verb}: ${err.code}: ${err.message}\n`);
      return err.code === 'INVALID_INPUT' ? 2 : 1;
    }
    throw err;
  }
}
