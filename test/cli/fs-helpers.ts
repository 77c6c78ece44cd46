// File system conditions for the storage-error tests: a full disk and a folder this
// process may not write, each made the most faithful way the machine allows (a small
// tmpfs / a read-only bind mount as root where mounting works; a file-size limit /
// chmod otherwise), each undone by `release` so a rerun can check the recovery.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const isRoot = process.getuid?.() === 0;

function canMount(dir: string): boolean {
  // SLUICE_TEST_NO_MOUNT=1 tries the fallbacks on a machine where mounting works.
  if (!isRoot || process.env.SLUICE_TEST_NO_MOUNT === '1') return false;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' });
    execFileSync('umount', [dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface Condition {
  /** How it was made, for messages. */
  how: string;
  /** Wraps the command (e.g. under a file-size limit); identity for mounts and chmod. */
  wrap(cmd: string[]): string[];
  /** Removes the cause. */
  release(): void;
}

/** `dir` (created) becomes a disk of about `kib` KiB: a tmpfs, or a file-size limit on the process. */
export function fullDisk(dir: string, kib: number): Condition {
  mkdirSync(dir, { recursive: true });
  if (canMount(dir)) {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k`, 'tmpfs', dir]);
    return { how: 'tmpfs', wrap: (c) => c, release: () => execFileSync('mount', ['-o', 'remount,size=64m', dir]) };
  }
  // bash's ulimit -f counts 1024-byte blocks; Node ignores SIGXFSZ, so a write past it fails with EFBIG.
  let on = true;
  return { how: 'ulimit -f', wrap: (c) => (on ? ['bash', '-c', `ulimit -f ${kib}; exec "$@"`, 'bash', ...c] : c), release: () => (on = false) };
}

/** Unmounts what fullDisk mounted (no-op otherwise). */
export function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'ignore' });
  } catch {
    // Not a mount point.
  }
}

/** `dir` (existing) becomes a folder this process may not write: chmod, or a read-only bind mount as root. */
export function readOnly(dir: string): Condition {
  if (!isRoot) {
    chmodSync(dir, 0o555);
    return { how: 'chmod 555', wrap: (c) => c, release: () => chmodSync(dir, 0o755) };
  }
  if (canMount(dir)) {
    execFileSync('mount', ['--bind', dir, dir]);
    execFileSync('mount', ['-o', 'remount,bind,ro', dir]);
    let mounted = true;
    const release = () => {
      if (mounted) execFileSync('umount', [dir]);
      mounted = false;
    };
    return { how: 'read-only bind mount', wrap: (c) => c, release };
  }
  // Root without mount rights (a container's usual root): run sluice as nobody, for whom a
  // root-owned folder with mode 555 is read-only. The test's temporary root must let
  // nobody in (and write its other folders), and the repository must be readable.
  chmodSync(dirname(dir), 0o777);
  chmodSync(dir, 0o555);
  let on = true;
  return {
    how: 'setpriv as nobody, chmod 555',
    wrap: (c) => (on ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...c] : c),
    release: () => {
      if (on) chmodSync(dir, 0o755);
      on = false;
    },
  };
}

export function run(cmd: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => done({ code, stdout, stderr }));
  });
}

export const sluiceCmd = (...args: string[]): string[] => [process.execPath, resolve('bin/sluice.js'), ...args];
