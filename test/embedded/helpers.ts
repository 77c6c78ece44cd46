import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedLog } from '../../connectors/embedded/index.js';
import type { LogRecord } from '../../src/core/record.js';

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'sluice-embedded-'));
}

/** Runs `fn` on a fresh log in a temporary directory, then closes and removes both. */
export async function withLog(fn: (log: EmbeddedLog, dir: string) => Promise<void>): Promise<void> {
  const dir = await tempDir();
  const log = await EmbeddedLog.open(dir);
  try {
    await fn(log, dir);
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** `n` records with values "v<start>".."v<start+n-1>" and timestamps 1000 + i. */
export function records(n: number, start = 0): LogRecord[] {
  return Array.from({ length: n }, (_, i) => ({ key: `k${start + i}`, value: `v${start + i}`, timestamp: 1000 + start + i }));
}
