// Shared by the Avro tests: the registry under test, the skip/fail rule, a TCP proxy that
// simulates registry outages, schemas and a temporary embedded log.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { EmbeddedLog } from '../../connectors/embedded/index.js';

/** The registry under test: SCHEMA_REGISTRY_URL, default the one scripts/registry/start.sh runs. */
export const REGISTRY_URL = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:18081';

let probe: Promise<string | null> | undefined;
let warned = false;

/**
 * True when the registry answers. When it does not: fails the test under REQUIRE_KAFKA=1 or
 * CI=true (the project's CI starts it), otherwise skips loudly and returns false.
 */
export async function registryAvailable(t: TestContext): Promise<boolean> {
  probe ??= fetch(`${REGISTRY_URL}/config`, { signal: AbortSignal.timeout(3000) }).then(
    (r) => (r.ok ? null : `GET /config answered HTTP ${r.status}`),
    (err: Error) => err.message,
  );
  const reason = await probe;
  if (reason === null) return true;
  const message = `schema registry not reachable at ${REGISTRY_URL}: start it with scripts/registry/start.sh (${reason})`;
  if (process.env.REQUIRE_KAFKA === '1' || process.env.CI === 'true') assert.fail(`REQUIRE_KAFKA=1/CI=true and ${message}`);
  if (!warned) {
    warned = true;
    process.stderr.write(`\n!!! SKIPPING schema registry tests: ${message}\n!!! (set REQUIRE_KAFKA=1 to make this a failure)\n\n`);
  }
  t.skip(message);
  return false;
}

/** `prefix-<8 hex>`: topics and subjects never collide between runs (the registry is shared). */
export function unique(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** A TCP proxy in front of the registry: `down()` refuses connections (an outage), `up()` forwards again. */
export async function registryProxy(): Promise<{ url: string; down(): void; up(): void; close(): Promise<void> }> {
  const target = new URL(REGISTRY_URL);
  let isUp = true;
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (!isUp) return void client.destroy();
    const upstream = connect(Number(target.port), target.hostname);
    open.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    down() {
      isUp = false;
      for (const s of open) s.destroy(); // kept-alive connections go down too
      open.clear();
    },
    up() {
      isUp = true;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of open) s.destroy();
        server.close(() => r());
      }),
  };
}

/** Runs `fn` on a fresh embedded log in a temporary directory. */
export async function withLog(fn: (log: EmbeddedLog, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-avro-'));
  const log = await EmbeddedLog.open(join(dir, 'log'));
  try {
    await fn(log, dir);
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export const FLIGHT_V1 = {
  type: 'record',
  name: 'Flight',
  namespace: 'test.sluice',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'origin', type: 'string' },
    { name: 'distance', type: 'double' },
    { name: 'delay', type: 'double' },
  ],
};

/** v2 adds a field with a default: BACKWARD compatible with v1. */
export const FLIGHT_V2 = { ...FLIGHT_V1, fields: [...FLIGHT_V1.fields, { name: 'carrier', type: 'string', default: 'unknown' }] };

export function flight(id: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, origin: ['SFO', 'JFK', 'ORD'][id % 3]!, distance: 100 + id, delay: (id % 7) - 2, ...extra };
}
