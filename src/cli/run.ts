import { writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createLogger } from '../core/logger.js';
import { createMetrics } from '../metrics/registry.js';
import { serveMetrics } from '../metrics/server.js';
import { operatorCatalog } from '../operators/index.js';
import { connectionFor } from './connection.js';
import { describeConnection } from '../runtime/connection.js';
import { Job, type JobSummary } from '../runtime/job.js';
import { loadTopologyFile } from '../topology/load.js';
import { intOption, parse, requirePositional } from './args.js';
import { EmbeddedLog } from '../../connectors/embedded/index.js';
import type { ModelRunner } from '../model/index.js';
import { createOnlineService, loadAllModels, startResponder, type OnlineService } from '../online/service.js';
import { embeddedTransport } from '../online/bridge/embedded-transport.js';
import { kafkaTransport } from '../online/bridge/kafka-transport.js';
import { requestTopic, type BridgeMessage, type BridgeTransport } from '../online/bridge/transport.js';
import type { BridgeResponder } from '../online/bridge/responder.js';
import { resolveDataDir } from '../runtime/resources.js';
import { ONLINE_FLAGS, onlineFlags } from './serve.js';

export async function runCommand(argv: string[]): Promise<number> {
  const args = parse('run', argv, {
    'until-idle': { type: 'boolean' },
    'data-dir': { type: 'string' },
    connection: { type: 'string' },
    'metrics-port': { type: 'string' },
    'summary-json': { type: 'string' },
    'from-backfill-end': { type: 'boolean' },
    fresh: { type: 'boolean' },
    serve: { type: 'string' },
    ...ONLINE_FLAGS,
  });
  const file = requirePositional('run', args.positionals, 'the topology FILE');
  const loaded = loadTopologyFile(file, operatorCatalog);
  const logger = createLogger(`run:${loaded.definition.name}`);
  const metrics = createMetrics(undefined, true);
  const port = intOption('run', 'metrics-port', args.str('metrics-port'));
  let server: Server | undefined;
  if (port !== undefined) {
    server = await serveMetrics(metrics.registry, port);
    const addr = server.address();
    logger.info(`metrics on http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : port}/metrics`);
  }
  const dataDir = args.str('data-dir');
  const connection = connectionFor(loaded, args.str('connection'));
  logger.info(`topics on ${describeConnection(connection)}`);
  const servePort = intOption('run', 'serve', args.str('serve'));
  // --serve: the job and the online server share the embedded log (its state) and the models (one ModelRunner each).
  let log: EmbeddedLog | undefined;
  let runners: Map<string, ModelRunner> | undefined;
  let online: OnlineService | undefined;
  // online.mode: bridge: this process owns the state, so it answers the bridge's requests
  // (on Kafka even without --serve: the HTTP side may be another process's `sluice serve`).
  const bridge = loaded.definition.online?.mode === 'bridge' && (servePort !== undefined || connection.kind === 'kafka');
  let transport: BridgeTransport | undefined;
  let responder: { close(): Promise<void> } | undefined;
  if (servePort !== undefined || bridge) {
    log = await EmbeddedLog.open(resolveDataDir(loaded.definition, loaded.baseDir, dataDir, connection.dir));
    try {
      runners = await loadAllModels(loaded, { metrics, logger });
    } catch (err) {
      await log.close();
      throw err;
    }
  }
  const closeShared = async () => {
    await responder?.close();
    await transport?.close();
    await Promise.all([...(runners?.values() ?? [])].map((r) => r.close()));
    await log?.close();
  };
  // On Kafka the job's own tasks read the bridge's requests (co-partitioned with their input) and answer them between batches, once the responder exists.
  const byTasks = bridge && connection.kind === 'kafka';
  let haveResponder!: (r: BridgeResponder) => void;
  const responderReady = new Promise<BridgeResponder>((r) => (haveResponder = r));
  const requests = byTasks ? { topic: requestTopic(loaded.definition.name), answer: async (task: string, messages: BridgeMessage[]) => (await responderReady).handle(messages, task) } : undefined;
  let job: Job;
  try {
    job = await Job.start(loaded, { connection, untilIdle: args.flag('until-idle'), fromBackfillEnd: args.flag('from-backfill-end'), fresh: args.flag('fresh'), metrics, logger, ...(dataDir ? { dataDir } : {}), ...(log ? { log } : {}), ...(runners ? { models: runners } : {}), ...(requests ? { requests } : {}) });
    if (bridge) transport = connection.kind === 'kafka' ? await kafkaTransport(connection.kafka, undefined, logger) : embeddedTransport(log!);
    if (byTasks) {
      const r = await startResponder(loaded, { transport: transport!, runners: runners!, log: log!, job, logger, byTasks: true });
      responder = r;
      haveResponder(r.responder);
    }
    if (servePort !== undefined) {
      online = await createOnlineService(loaded, { metrics, logger, job, log: log!, runners: runners!, flags: onlineFlags('run', args, servePort), ...(transport ? { transport, responder: !byTasks } : {}) });
      await online.listen();
    } else if (bridge && !byTasks) {
      responder = await startResponder(loaded, { transport: transport!, runners: runners!, log: log!, job, logger });
    }
  } catch (err) {
    await closeShared();
    throw err;
  }
  logger.info(args.flag('until-idle') ? 'running until the sources are idle' : 'running; Ctrl-C (SIGINT) or SIGTERM stops it after draining');
  let stopping: Promise<JobSummary> | undefined;
  let onStopped!: (s: JobSummary) => void;
  const stopped = new Promise<JobSummary>((r) => (onStopped = r));
  const onSignal = (sig: string) => {
    if (stopping) return;
    logger.info(`${sig}: ${online ? 'draining online requests, then ' : ''}stopping sources, draining in-flight batches, flushing sinks`);
    // The online server drains first: its requests read the job's state and share its models.
    stopping = (async () => {
      if (online) {
        await online.app.sluice.admission.drain();
        await online.close();
      }
      await responder?.close();
      return job.stop();
    })();
    void stopping.then(onStopped);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // job.stop() resolves early (status stopped) when draining outlasts the shutdown timeout.
  const summary = await Promise.race([job.done, stopped]);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  await online?.close();
  await closeShared();
  server?.close();
  printSummary(summary);
  const summaryPath = args.str('summary-json');
  if (summaryPath) writeFileSync(summaryPath, JSON.stringify(summary, null, 2) + '\n');
  return summary.status === 'failed' ? 1 : 0;
}

export function printSummary(s: JobSummary): void {
  const rows: [string, string][] = [
    ['topology', s.topology],
    ['status', s.status],
    ['records in', String(s.recordsIn)],
    ['records out', String(s.recordsOut)],
    ['dead-lettered', String(s.deadLettered)],
    ...Object.entries(s.bySink).map(([k, v]): [string, string] => [`  → ${k}`, String(v)]),
    // Internal hops, not outputs: written by the steps before a keyBy, read by the stateful steps after it.
    ...Object.entries(s.repartitioned ?? {}).map(([k, v]): [string, string] => [`  ⇄ ${k}`, `${v.written} written / ${v.read} read (repartition)`]),
    ['wall time', `${(s.durationMs / 1000).toFixed(2)} s`],
    ['records/s', String(s.recordsPerSecond)],
    ['peak memory', `${s.peakRssMb} MiB`],
  ];
  if (s.error) rows.push(['error', s.error]);
  const ops = Object.entries(s.operators);
  if (ops.length) {
    rows.push(['steps', 'in / out / dead-lettered']);
    for (const [id, c] of ops) rows.push([`  ${id}`, `${c.in} / ${c.out} / ${c.deadLettered}`]);
  }
  const w = Math.max(...rows.map(([k]) => k.length));
  process.stderr.write(rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n');
}
