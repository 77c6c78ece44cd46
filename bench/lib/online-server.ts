// The servers the online benchmark loads, each run in its own process:
//   node online-server.js naive MODEL            fastify + onnxruntime once per request (batch 1, main thread)
//   node online-server.js sluice MODEL [--backfill]  sluice's online server (the shared ModelRunner, dynamic batching);
//                                                 --backfill also runs backfills on the same model in the same process, back to back
//                                                 (SIGHUP pauses and resumes them)
//   node online-server.js sluice MODEL --bridge embedded|kafka   the topology endpoint answered through the request-reply
//                                                 bridge (request and reply topics; responder in the same process; Kafka: KAFKA_BROKERS)
// MODEL: flight (examples/flight-delay, its topology and model) or wide (models/wide-mlp.onnx).
// Prints "LISTENING <port>" when ready; on SIGTERM prints "PEAK_RSS_MB <n>" and exits.
// BENCH_ONLINE_PROBE=1 also prints "PROBE <json>" on SIGTERM (event-loop delay, online model-call
// times, backfill rows scored; see probe.ts); SIGUSR2 restarts its counts (after a warm-up).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { memoryLogger } from '../../src/core/logger.js';
import { createMetrics } from '../../src/metrics/registry.js';
import { operatorCatalog } from '../../src/operators/index.js';
import { createOnlineService, loadAllModels } from '../../src/online/service.js';
import { Job, asLoaded } from '../../src/runtime/job.js';
import { loadTopologyFile, type LoadedTopology } from '../../src/topology/load.js';
import type { TopologyDefinition } from '../../src/topology/schema.js';
import { prng } from '../../scripts/onnx/proto.js';
import { KAFKA_DEFAULTS, type KafkaConnection } from '../../connectors/kafka/index.js';
import { embeddedTransport } from '../../src/online/bridge/embedded-transport.js';
import { kafkaTransport } from '../../src/online/bridge/kafka-transport.js';
import type { BridgeTransport } from '../../src/online/bridge/transport.js';
import { startProbe } from './probe.js';

export const MODELS = {
  flight: { path: 'examples/flight-delay/model/flight-delay.onnx', served: 'delay', input: 'features', width: 9 },
  wide: { path: 'models/wide-mlp.onnx', served: 'wide', input: 'features', width: 64 },
} as const;
export type ModelKey = keyof typeof MODELS;

/** One request row per model: a real flight's features, or seeded values for the MLP. */
export function sampleRow(model: ModelKey): number[] {
  if (model === 'flight') return [14, 850, 3, 6, 12, 337, 101, 402, 7.5];
  const r = prng(7);
  return Array.from({ length: MODELS.wide.width }, () => Math.round((r() * 4 - 2) * 1000) / 1000);
}

/** The raw flight a topology request sends (the topology computes the features and reads state). */
export const FLIGHT_RECORD = { date: 1_170_000_000_000, origin: 'SFO', destination: 'LAX', distance: 337 };

function wideTopology(): LoadedTopology {
  const features = Array.from({ length: MODELS.wide.width }, (_, i) => `f${i}`);
  const def = {
    name: 'wide',
    models: { wide: { path: resolve(MODELS.wide.path) } },
    sources: { rows: { type: 'topic', topic: 'rows' } },
    pipeline: [{ score: { id: 'wide-model', model: 'wide', features, outputs: { score: 'score' } } }, { sink: 'scored' }],
    sinks: { scored: { type: 'stdout' }, dlq: { type: 'stdout' } },
    deadLetter: 'dlq',
    online: { port: 0, maxInFlight: 100_000 },
  } as unknown as TopologyDefinition;
  return asLoaded(def);
}

/** A backfill topology over `file` (JSONL rows f0..) scoring the same model, written to a JSONL folder. */
function backfillTopology(model: ModelKey, file: string, out: string): LoadedTopology {
  const m = MODELS[model];
  const features = Array.from({ length: m.width }, (_, i) => `f${i}`);
  const def = {
    name: `bench-backfill-${model}`,
    models: { [m.served]: { path: resolve(m.path) } },
    sources: { rows: { type: 'file', path: file, format: 'jsonl' } },
    pipeline: [{ score: { id: 'bulk', model: m.served, features } }, { sink: 'out' }],
    sinks: { out: { type: 'file', path: out, format: 'jsonl' }, dlq: { type: 'stdout' } },
    deadLetter: 'dlq',
    runtime: { batchSize: 4096 },
  } as unknown as TopologyDefinition;
  return asLoaded(def);
}

async function naive(model: ModelKey): Promise<void> {
  const ort = await import('onnxruntime-node');
  const { default: Fastify } = await import('fastify');
  const m = MODELS[model];
  const session = await ort.InferenceSession.create(resolve(m.path), { intraOpNumThreads: 1 });
  const app = Fastify({ logger: false });
  app.post(`/v2/models/${m.served}/infer`, async (req) => {
    const t = (req.body as { inputs: { data: number[]; shape: number[] }[] }).inputs[0]!;
    const out = await session.run({ [m.input]: new ort.Tensor('float32', Float32Array.from(t.data), t.shape) });
    return { model_name: m.served, outputs: Object.entries(out).map(([name, v]) => ({ name, shape: v.dims, data: Array.from(v.data as ArrayLike<number | bigint>, Number) })) };
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  announce(new URL(address).port, () => app.close());
}

async function sluice(model: ModelKey, withBackfill: boolean, bridge: 'embedded' | 'kafka' | undefined): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-online-'));
  const logger = memoryLogger();
  const metrics = createMetrics();
  const loaded = model === 'flight' ? loadTopologyFile('examples/flight-delay/topology.yaml', operatorCatalog, { env: { OUT: join(dir, 'out') } }) : wideTopology();
  loaded.definition.online = { ...loaded.definition.online, port: 0, maxInFlight: 100_000 };
  const runners = await loadAllModels(loaded, { metrics, logger });
  const probe = process.env.BENCH_ONLINE_PROBE === '1' ? startProbe(runners.values()) : undefined;
  const { EmbeddedLog } = await import('../../connectors/embedded/index.js');
  const log = await EmbeddedLog.open(join(dir, 'data'));
  let transport: BridgeTransport | undefined;
  if (bridge) {
    loaded.definition.online.mode = 'bridge';
    if (bridge === 'kafka') {
      const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
      const name = `bench-bridge-${process.pid}`;
      loaded.definition.name = name;
      transport = await kafkaTransport({ ...KAFKA_DEFAULTS, brokers, clientId: name } as KafkaConnection);
    } else transport = embeddedTransport(log);
    if (probe) transport = probe.wrapTransport(transport);
  }
  const service = await createOnlineService(loaded, { metrics, logger, runners, log, ...(transport ? { transport, responder: true } : {}) });
  let stop = false;
  let backfills = 0;
  let running: Promise<void> = Promise.resolve();
  if (withBackfill) {
    const m = MODELS[model];
    const r = prng(11);
    const lines = Array.from({ length: 200_000 }, () => JSON.stringify(Object.fromEntries(Array.from({ length: m.width }, (_, i) => [`f${i}`, Math.round(r() * 1000) / 100]))));
    writeFileSync(join(dir, 'rows.jsonl'), lines.join('\n') + '\n');
    const bf = backfillTopology(model, join(dir, 'rows.jsonl'), join(dir, 'bulk'));
    // SIGHUP pauses the backfills (once the current one ends, "BACKFILL off") or resumes them ("BACKFILL on" as the next starts).
    let wanted = true;
    let isOn = true;
    process.on('SIGHUP', () => (wanted = !wanted));
    running = (async () => {
      while (!stop) {
        if (wanted !== isOn) {
          isOn = wanted;
          process.stdout.write(`BACKFILL ${isOn ? 'on' : 'off'}\n`);
        }
        if (!isOn) {
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        const job = await Job.start(bf, { log, models: runners, fresh: true, logger, metrics });
        await job.done;
        backfills++;
      }
    })();
  }
  const url = await service.listen();
  process.stdout.write(`TOPOLOGY ${loaded.definition.name}\n`);
  announce(new URL(url).port, async () => {
    if (probe) process.stdout.write(`PROBE ${JSON.stringify(probe.report())}\n`);
    stop = true;
    await running;
    await service.close();
    await transport?.close();
    await Promise.all([...runners.values()].map((r) => r.close()));
    process.stdout.write(`BACKFILLS ${backfills}\n`);

    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });
}

/** Prints the port; on SIGTERM closes, prints the peak RSS and exits 0. */
function announce(port: string, close: () => Promise<unknown>): void {
  process.stdout.write(`LISTENING ${port}\n`);
  process.once('SIGTERM', () => {
    void close().then(() => {
      process.stdout.write(`PEAK_RSS_MB ${Math.round(process.resourceUsage().maxRSS / 1024)}\n`);
      process.exit(0);
    });
  });
}

const [, , mode, model, flag] = process.argv;
if (mode === 'naive' || mode === 'sluice') {
  if (model !== 'flight' && model !== 'wide') throw new Error(`model must be flight or wide; got ${model}`);
  if (mode === 'naive') await naive(model);
  else await sluice(model, flag === '--backfill', flag === '--bridge' ? (process.argv[5] as 'embedded' | 'kafka') : undefined);
}
