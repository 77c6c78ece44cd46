import { readFileSync, readdirSync } from 'node:fs';

/**
 * CPU time (user + system, ms) of each thread of this process, by thread id, from
 * /proc (Linux); empty elsewhere. Thread CPU does not grow when the machine is busy
 * with other work, so it compares variants more steadily than wall time does.
 */
export function threadCpuMs(): Map<number, number> {
  const out = new Map<number, number>();
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // Fields after "(comm) ": utime and stime are the 12th and 13th, in clock ticks (10 ms).
      const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
      out.set(Number(tid), (Number(f[11]) + Number(f[12])) * 10);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

/** CPU per record between two snapshots: the main thread's, and all threads' together (µs). */
export function cpuPerRecord(before: Map<number, number>, after: Map<number, number>, records: number): { mainUs: number; allUs: number } {
  let all = 0;
  for (const [tid, ms] of after) all += ms - (before.get(tid) ?? 0);
  const main = (after.get(process.pid) ?? 0) - (before.get(process.pid) ?? 0);
  return { mainUs: (main * 1000) / records, allUs: (all * 1000) / records };
}
