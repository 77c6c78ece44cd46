import { EmbeddedLog } from '../../connectors/embedded/index.js';
import { createLogger, type Logger } from '../core/logger.js';
import { createMetrics } from '../metrics/registry.js';
import { operatorCatalog } from '../operators/index.js';
import type { OnlineFlags } from '../online/config.js';
import { createOnlineService, type OnlineService } from '../online/service.js';
import { resolveDataDir } from '../runtime/resources.js';
import { loadTopologyFile } from '../topology/load.js';
import { SluiceError } from '../core/errors.js';
import { kafkaTransport } from '../online/bridge/kafka-transport.js';
import { connectionFor } from './connection.js';
import { intOption, parse, requirePositional, type ParsedArgs } from './args.js';

/** The flags `serve` and `run --serve` share. */
export const ONLINE_FLAGS = {
  host: { type: 'string' },
  token: { type: 'string', multiple: true },
  'timeout-ms': { type: 'string' },
} as const;

export function onlineFlags(verb: string, args: ParsedArgs, port: number | undefined): OnlineFlags {
  const f: OnlineFlags = {};
  if (port !== undefined) f.port = port;
  const host = args.str('host');
  if (host) f.host = host;
  const tokens = args.list('token');
  if (tokens.length) f.tokens = tokens;
  const t = intOption(verb, 'timeout-ms', args.str('timeout-ms'));
  if (t) f.deadlineMs = t;
  return f;
}

/** Whether any step keeps keyed state (then the request path reads the embedded log's state). */
export function hasState(pipeline: readonly Record<string, unknown>[]): boolean {
  return pipeline.some((s) => 'aggregate' in s || 'window' in s);
}

/**
 * SIGTERM/SIGINT: stop admitting (new requests get 503, readiness turns 4xx), let the
 * requests in flight finish, close the server, then `after` (the job, the log). Exit 0.
 */
export function drainOnSignal(service: OnlineService, logger: Logger, after: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (sig: string) => {
      if (stopping) return;
      stopping = true;
      logger.info(`${sig}: draining online requests (${service.app.sluice.admission.inFlight} in flight), then stopping`);
      void (async () => {
        const clean = await service.app.sluice.admission.drain();
        if (!clean) logger.warn(`requests still in flight after online.drainTimeoutMs (${service.config.drainTimeoutMs} ms); closing anyway`);
        await service.close();
        await after();
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        resolve();
      })();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** `sluice serve FILE`: answers HTTP requests for a topology (its models and its request path) until SIGTERM. */
export async function serveCommand(argv: string[]): Promise<number> {
  const args = parse('serve', argv, { port: { type: 'string' }, 'data-dir': { type: 'string' }, connection: { type: 'string' }, ...ONLINE_FLAGS });
  const file = requirePositional('serve', args.positionals, 'the topology FILE');
  const loaded = loadTopologyFile(file, operatorCatalog);
  const def = loaded.definition;
  const logger = createLogger(`serve:${def.name}`);
  const metrics = createMetrics(undefined, true);
  const connection = connectionFor(loaded, args.str('connection'));
  const bridge = def.online?.mode === 'bridge';
  if (bridge && connection.kind !== 'kafka') {
    throw new SluiceError('INVALID_INPUT', `${file}: online.mode: bridge with sluice serve needs a Kafka connection (--connection FILE, connection.kafka or SLUICE_KAFKA_BROKERS): the embedded log belongs to the process that runs the job; serve beside it with sluice run ${file} --serve PORT`);
  }
  // Keyed state lives in the embedded log; open it only when this process reads state itself (it locks the directory).
  const log = hasState(def.pipeline) && !bridge ? await EmbeddedLog.open(resolveDataDir(def, loaded.baseDir, args.str('data-dir'), connection.dir)) : undefined;
  const transport = bridge && connection.kind === 'kafka' ? await kafkaTransport(connection.kafka, undefined, logger) : undefined;
  try {
    const service = await createOnlineService(loaded, { metrics, logger, flags: onlineFlags('serve', args, intOption('serve', 'port', args.str('port'))), ...(log ? { log } : {}), ...(transport ? { transport } : {}) });
    const stopped = drainOnSignal(service, logger, async () => {
      await transport?.close();
      await log?.close();
    });
    await service.listen();
    await stopped;
    return 0;
  } catch (err) {
    await transport?.close();
    await log?.close();
    throw err;
  }
}
