// A broker of a test's own, started by scripts/kafka/start.sh on spare ports with its own data
// folder: for tests that stop, restart or reconfigure a broker, which must never touch the
// shared one other test files use at the same time.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface PrivateBroker {
  port: number;
  /** PLAINTEXT bootstrap address. */
  brokers: string[];
  /** The SASL_PLAINTEXT listener (PLAIN, SCRAM-SHA-256/512; user sluice, password sluice-secret). */
  saslBrokers: string[];
  dataDir: string;
  /** The environment the scripts get (KAFKA_PORT, KAFKA_DATA_DIR). */
  env: Record<string, string>;
  /** The broker JVM's pid, from the pid file. */
  pid(): Promise<number>;
  /** scripts/kafka/restart.sh: stop, stay down `downSeconds`, start on the same data. */
  restart(downSeconds?: number): Promise<ScriptRun>;
  /** scripts/kafka/stop.sh (KAFKA_KEEP_DATA=1 keeps the data for a later start). */
  stop(keepData?: boolean): Promise<ScriptRun>;
  /** scripts/kafka/start.sh again (after stop(true)). */
  start(): Promise<ScriptRun>;
  /** Stops it and removes its data. */
  dispose(): Promise<void>;
}

export const SASL_USER = { username: 'sluice', password: 'sluice-secret' };

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

/** A base port with itself, +1 (controller) and +2 (SASL) free: KAFKA_PRIVATE_PORT, else a random one in 21000-29999. */
export async function spareBasePort(): Promise<number> {
  if (process.env.KAFKA_PRIVATE_PORT) return Number(process.env.KAFKA_PRIVATE_PORT);
  for (let i = 0; i < 50; i++) {
    const base = 21_000 + Math.floor(Math.random() * 3000) * 3;
    if ((await portFree(base)) && (await portFree(base + 1)) && (await portFree(base + 2))) return base;
  }
  throw new Error('no three free consecutive ports found in 21000-29999');
}

/** Runs scripts/kafka/<name> with the given environment on top of this process's. */
export function kafkaScript(name: string, env: Record<string, string>): Promise<ScriptRun> {
  return new Promise((done, fail) => {
    const child = spawn('bash', [resolve('scripts/kafka', name)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('exit', (code) => done({ code, stdout, stderr }));
  });
}

/** Picks spare ports and a fresh data folder; does not start anything (call start()). */
export async function privateBroker(): Promise<PrivateBroker> {
  const port = await spareBasePort();
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-kafka-private-'));
  const env = { KAFKA_PORT: String(port), KAFKA_DATA_DIR: dataDir };
  const must = async (r: Promise<ScriptRun>, what: string) => {
    const run = await r;
    if (run.code !== 0) throw new Error(`${what} failed (exit ${run.code}): ${run.stderr.trim().split('\n').slice(-10).join('\n')}`);
    return run;
  };
  return {
    port,
    brokers: [`127.0.0.1:${port}`],
    saslBrokers: [`127.0.0.1:${port + 2}`],
    dataDir,
    env,
    pid: async () => Number((await readFile(join(dataDir, 'kafka.pid'), 'utf8')).trim()),
    restart: (downSeconds = 0) => must(kafkaScript('restart.sh', { ...env, KAFKA_DOWN_SECONDS: String(downSeconds) }), 'scripts/kafka/restart.sh'),
    stop: (keepData = false) => must(kafkaScript('stop.sh', keepData ? { ...env, KAFKA_KEEP_DATA: '1' } : env), 'scripts/kafka/stop.sh'),
    start: () => must(kafkaScript('start.sh', env), 'scripts/kafka/start.sh'),
    dispose: async () => {
      await kafkaScript('stop.sh', env);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
