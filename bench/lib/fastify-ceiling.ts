// The HTTP ceiling: a bare fastify 5 JSON POST route (no model, no batching) in its own
// process, loaded by autocannon in another. The online server is compared with this.
// Run as a script (`node fastify-ceiling.js --serve`) this file is that server.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { generateLoad } from './load-generator.js';
import type { LoadResult } from './load-generator.js';

/** The request body: the shape of a small model's input. */
export const CEILING_BODY = JSON.stringify({ features: [0.5, -1.25, 3, 0.75, -0.1, 2.5, 1, -2] });
export const CEILING_ROUTE = '/score';

export interface FastifyCeilingOptions {
  /** Default 64. */
  connections?: number;
  /** Measured seconds. Default 8. */
  seconds?: number;
  /** Unmeasured seconds first. Default 2. */
  warmupSeconds?: number;
}

export interface FastifyCeilingResult extends LoadResult {
  connections: number;
  bodyBytes: number;
}

/** The server side: POST /score answers a small computed value, like a one-layer model would. */
async function serve(): Promise<void> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false });
  app.post(CEILING_ROUTE, async (req) => {
    const xs = (req.body as { features?: unknown }).features;
    if (!Array.isArray(xs)) throw Object.assign(new Error('features must be an array'), { statusCode: 400 });
    let z = 0;
    for (let i = 0; i < xs.length; i++) z += Number(xs[i]) * ((i % 3) - 1) * 0.25;
    return { score: 1 / (1 + Math.exp(-z)) };
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`LISTENING ${new URL(address).port}\n`);
  const close = () => void app.close().then(() => process.exit(0));
  process.on('SIGTERM', close);
  process.on('SIGINT', close);
}

/** A running bare server (its own process). */
export interface CeilingServer {
  port: number;
  stop(): Promise<void>;
}

/** Starts the bare server in a child process. */
export async function startCeilingServer(): Promise<CeilingServer> {
  const server = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const stop = async () => {
    if (server.exitCode !== null || server.signalCode !== null) return;
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error('the fastify ceiling server did not print its port within 10 s')), 10_000);
      server.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /LISTENING (\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      server.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the fastify ceiling server exited with ${code} before listening`));
      });
    });
    return { port, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Loads the bare server at `port` with autocannon (its own process). */
export async function loadCeiling(port: number, o: FastifyCeilingOptions = {}): Promise<FastifyCeilingResult> {
  const connections = o.connections ?? 64;
  const load = await generateLoad({ url: `http://127.0.0.1:${port}${CEILING_ROUTE}`, method: 'POST', body: CEILING_BODY, connections, seconds: o.seconds ?? 8, warmupSeconds: o.warmupSeconds ?? 2 });
  return { ...load, connections, bodyBytes: Buffer.byteLength(CEILING_BODY) };
}

/** Starts the bare server in a child process and loads it with autocannon (also its own process). */
export async function fastifyCeiling(o: FastifyCeilingOptions = {}): Promise<FastifyCeilingResult> {
  const server = await startCeilingServer();
  try {
    return await loadCeiling(server.port, o);
  } finally {
    await server.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--serve') await serve();
