// Child `sluice run` processes for the Kafka multi-process tests: each one's log is kept, and the
// partitions it owns are followed from its rebalance log lines.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

export class SluiceProcess {
  readonly child: ChildProcess;
  log = '';
  readonly owned = new Set<string>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [resolve('bin/sluice.js'), ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let pending = '';
    this.child.stderr!.on('data', (d: Buffer) => {
      this.log += d.toString();
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const l of lines) this.onLine(l);
    });
    this.exited = new Promise((r) => this.child.on('exit', (code, signal) => r({ code, signal })));
  }

  private onLine(line: string): void {
    const gained = /this instance now owns (.*) of group/.exec(line);
    if (gained) for (const tp of gained[1]!.split(', ')) this.owned.add(tp);
    const lost = /took (.*) from this instance/.exec(line);
    if (lost) for (const tp of lost[1]!.split(', ')) this.owned.delete(tp);
  }

  kill(sig: NodeJS.Signals): void {
    this.child.kill(sig);
  }
}

/** Polls `cond` every 200 ms until it holds, or fails naming `what` after `timeoutMs`. */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 120_000, logs: () => string = () => ''): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${logs()}`);
}
