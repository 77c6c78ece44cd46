import type { EmbeddedLog } from '../../connectors/embedded/index.js';
import { publishParts, removeUncommittedParts } from '../sinks/index.js';

/**
 * Before a job writes files: publishes parts whose checkpoint committed but whose
 * rename did not happen (a crash in between), then deletes every other temporary
 * part (written after the last checkpoint; that input is read again).
 */
export async function recoverFileSinks(log: EmbeddedLog, job: string, dirs: string[], fresh: boolean): Promise<{ rolledForward: number; removed: number }> {
  let rolledForward = 0;
  if (fresh) {
    let removed = 0;
    for (const dir of new Set(dirs)) removed += await removeUncommittedParts(dir, true);
    return { rolledForward, removed };
  }
  for await (const [, value] of log.scanKv(`parts/${job}/`)) {
    const sealed = JSON.parse(value.toString()) as { temp: string; final: string }[];
    rolledForward += await publishParts(sealed);
  }
  let removed = 0;
  for (const dir of new Set(dirs)) removed += await removeUncommittedParts(dir);
  return { rolledForward, removed };
}
