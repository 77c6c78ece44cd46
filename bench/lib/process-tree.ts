/**
 * Runs a command as the leader of its own process group, so that a time limit (or
 * this process being stopped) kills everything it started too: a benchmark's
 * `sluice backfill` child, a load generator, a server. Killing only the direct child
 * left such grandchildren running and loading the machine for the next benchmark.
 */
import { spawn } from 'node:child_process';

export interface TreeRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when the limit was reached and the group was killed. */
  timedOut: boolean;
  stdout: string;
}

const live = new Set<number>();
let hooked = false;

function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // Already gone.
  }
}

/** On SIGINT/SIGTERM, takes every running group down before exiting. */
function hookSignals(): void {
  if (hooked) return;
  hooked = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      for (const pid of live) killGroup(pid, 'SIGKILL');
      process.exit(130);
    });
  }
}

/** Runs `command args` with stderr passed through, stdout collected, and the whole group SIGKILLed after limitMs. */
export function runTree(command: string, args: string[], limitMs: number): Promise<TreeRun> {
  hookSignals();
  return new Promise((done, fail) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    if (child.pid === undefined) {
      child.on('error', fail);
      return;
    }
    const pid = child.pid;
    live.add(pid);
    let stdout = '';
    let timedOut = false;
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(pid, 'SIGKILL');
    }, limitMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      // Whatever the leader left behind goes too (it may have exited on its own while children lived on).
      killGroup(pid, 'SIGKILL');
      live.delete(pid);
      done({ code, signal, timedOut, stdout });
    });
  });
}
