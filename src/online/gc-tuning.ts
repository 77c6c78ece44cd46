/**
 * V8 tuning for a process that serves online requests.
 *
 * V8 "pretenures" an allocation site (allocates its objects straight in the old generation)
 * when most of the objects it made were still alive at the last young-generation GC. Under
 * online load that is true of the per-request objects (a request waits a few ms for its batch,
 * and some 60 requests are always in flight), so V8 pretenured them although each dies within
 * milliseconds: measured with `node --trace-gc` on `/v2` at 64 connections, ~2 KB per request
 * went to the old generation, which then needed full mark-compact collections (marked on helper
 * threads). Turned off, the same 30,000 requests spent 34–46 ms instead of 106–145 ms in GC
 * pauses, and the server used ~15% less CPU per request (scripts/online-cpu.mjs v2-flight).
 *
 * The flag is process-wide and read at each GC, so it can be set once the process runs.
 * SLUICE_V8_PRETENURING=on keeps V8's default.
 */
import { setFlagsFromString } from 'node:v8';

let applied = false;

export function tuneGcForServing(env: NodeJS.ProcessEnv = process.env): boolean {
  if (applied || env.SLUICE_V8_PRETENURING === 'on') return applied;
  setFlagsFromString('--no-allocation-site-pretenuring');
  applied = true;
  return applied;
}
