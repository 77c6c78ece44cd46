import type { EmbeddedLog } from '../../connectors/embedded/index.js';
import { publishParts, removeUncommittedParts } from '../sinks/index.js';

/**
 * Before a job writes files: publishes parts whose checkpoint committed but whose
 * rename did not happen (a crash in between), then deletes every other temporary
 * part (written after the last checkpoint; that input is read again).
 */
export async function recoverFileSinks(log: EmbeddedLog, job: string, sinks: { sink: string; dir: string }[], fresh: boolean): Promise<{ rolledForward: number; removed: number }> {
  let rolledForward = 0;
  // One entry per folder (two sinks may share one), keeping the first sink's name for errors.
  const dirs = new Map<string, string>();
  for (const s of sinks) if (!dirs.has(s.dir)) dirs.set(s.dir, s.sink);
  if (fresh) {
    let removed = 0;
    for (const [dir, sink] of dirs) removed += await removeUncommittedParts(dir, true, sink);
    return { rolledForward, removed };
  }
  for await (const [, value] of log.scanKv(`parts/${job}/`)) {
    const sealed = JSON.parse(value.toString()) as { temp: string; final: string }[];
    rolledForward += await publishParts(sealed);
  }
  let removed = 0;
  for (const [dir, sink] of dirs) removed += await removeUncommittedParts(dir, false, sink);
  return { rolledForward, removed };
}
