// Child sluice processes for the Kafka multi-process tests: `sluice run` members whose owned partitions
// are followed from their rebalance log lines, and CLI processes started until a ready line appears.
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

export interface CliProcess {
  child: ChildProcess;
  log: () => string;
  exited: Promise<number | null>;
}

/** Starts the CLI (stdout and stderr kept) and waits for a line matching `ready`; its match comes back. */
export async function startCli(args: string[], ready: RegExp): Promise<CliProcess & { match: RegExpExecArray }> {
  const child = spawn(process.execPath, [resolve('bin/sluice.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const match = await new Promise<RegExpExecArray>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`${args[0]} not ready within 60 s:\n${out}`)), 60_000);
    const check = setInterval(() => {
      const m = ready.exec(out);
      if (m) {
        clearInterval(check);
        clearTimeout(timer);
        ok(m);
      }
    }, 50);
    void exited.then((code) => {
      clearInterval(check);
      clearTimeout(timer);
      fail(new Error(`${args[0]} exited with ${code} before it was ready:\n${out}`));
    });
  });
  return { child, log: () => out, exited, match };
}

export async function stopCli(p: CliProcess): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const t = setTimeout(() => p.child.kill('SIGKILL'), 20_000);
  await p.exited;
  clearTimeout(t);
}
