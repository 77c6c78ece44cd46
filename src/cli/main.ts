import { SluiceError } from '../core/errors.js';
import { backfillCommand } from './backfill.js';
import { runCommand } from './run.js';
import { serveCommand } from './serve.js';
import { topicsCommand } from './topics.js';
import { validateCommand } from './validate.js';

/** Verb → handler. */
const VERBS: Record<string, (argv: string[]) => Promise<number>> = {
  run: runCommand,
  serve: serveCommand,
  backfill: backfillCommand,
  validate: validateCommand,
  topics: topicsCommand,
};

const HELP = `sluice — one engine for batch, streaming and online scoring

  sluice run FILE [--until-idle] [--from-backfill-end] [--fresh] [--data-dir DIR] [--connection FILE] [--metrics-port N] [--summary-json PATH]
  sluice run FILE --serve PORT [run options] [--host H] [--token T]... [--timeout-ms N]
  sluice serve FILE [--port N] [--host H] [--token T]... [--timeout-ms N] [--data-dir DIR] [--connection FILE]
  sluice backfill FILE [--summary-json PATH] [--fresh] [--no-progress] [--data-dir DIR] [--connection FILE]
  sluice validate FILE [--connection FILE]
  sluice topics list | create NAME [--partitions N] | describe NAME [--json] | produce NAME [--file F] [--key FIELD]
                | consume NAME [--offset N] [--max N] [--values]     (all take --data-dir DIR or --connection FILE)

Topics live on Kafka when --connection FILE, the topology's connection.kafka block or
$SLUICE_KAFKA_BROKERS names brokers (in that order); otherwise on the embedded log.
The embedded log (on Kafka: the local state cache) lives in --data-dir, else $SLUICE_DATA_DIR, else ./.sluice.
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
