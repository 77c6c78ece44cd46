import { readFileSync, readdirSync } from 'node:fs';

/**
 * CPU time (user + system, ms) of each thread of this process, by thread id, from
 * /proc (Linux); empty elsewhere. Thread CPU does not grow when the machine is busy
 * with other work, so it compares variants more steadily than wall time does.
 */
export function threadCpuMs(): Map<number, number> {
  return readThreads().cpu;
}

/** Thread CPU (ms) by tid, and each thread's name (/proc comm: "node", "libuv-worker", "V8 DefaultWorke", …). */
function readThreads(): { cpu: Map<number, number>; names: Map<number, string> } {
  const names = new Map<number, string>();
  const out = new Map<number, number>();
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return { cpu: out, names };
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // Fields after "(comm) ": utime and stime are the 12th and 13th, in clock ticks (10 ms).
      const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
      out.set(Number(tid), (Number(f[11]) + Number(f[12])) * 10);
      names.set(Number(tid), stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(') ')));
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return { cpu: out, names };
}

/** Thread names of this process by tid (for cpuByThreadName). */
export function threadNames(): Map<number, string> {
  return readThreads().names;
}

/**
 * CPU per record (µs) between two snapshots by thread name, largest first: which kind
 * of thread (main, model workers, libuv pool, V8 helpers) the time went to. Worker
 * threads the process started are named by Node; the main thread is "main".
 */
export function cpuByThreadName(before: Map<number, number>, after: Map<number, number>, names: Map<number, string>, records: number): [string, number][] {
  const by = new Map<string, number>();
  for (const [tid, ms] of after) {
    const name = tid === process.pid ? 'main' : `${names.get(tid) ?? '?'}#${tid}`;
    by.set(name, (by.get(name) ?? 0) + ((ms - (before.get(tid) ?? 0)) * 1000) / records);
  }
  return [...by].filter(([, us]) => us > 0).sort((a, b) => b[1] - a[1]);
}

/** CPU per record between two snapshots: the main thread's, and all threads' together (µs). */
export function cpuPerRecord(before: Map<number, number>, after: Map<number, number>, records: number): { mainUs: number; allUs: number } {
  let all = 0;
  for (const [tid, ms] of after) all += ms - (before.get(tid) ?? 0);
  const main = (after.get(process.pid) ?? 0) - (before.get(process.pid) ?? 0);
  return { mainUs: (main * 1000) / records, allUs: (all * 1000) / records };
}
