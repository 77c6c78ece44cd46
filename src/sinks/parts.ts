import { constants } from 'node:fs';
import { access, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SluiceError } from '../core/errors.js';

/**
 * Part-file naming. A part is written as `.<final>.tmp` (a leading dot, so readers
 * that skip hidden files never see it) and renamed to `<final>` after the checkpoint
 * that covers it commits. The final name holds the source, partition and first
 * offset, so a resumed job that redoes a range writes the same names.
 */
export function partName(source: string, partition: number, firstOffset: number, ext: string): string {
  return `part-${source}-${String(partition).padStart(4, '0')}-${String(firstOffset).padStart(12, '0')}.${ext}`;
}

export function tempNameOf(dir: string, final: string): string {
  return join(dir, `.${final}.tmp`);
}

/** Renames sealed parts to their final names; returns how many it renamed (one already renamed is skipped). */
export async function publishParts(parts: { temp: string; final: string }[]): Promise<number> {
  let n = 0;
  for (const p of parts) {
    try {
      await rename(p.temp, p.final);
      n++;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw new SluiceError('STORAGE_ERROR', `cannot publish part ${p.final}: ${(err as Error).message}`, { path: p.final }, { cause: err });
    }
  }
  return n;
}

/**
 * Deletes temporary parts left in `dir` by a job that stopped before their checkpoint
 * (with `all`, finished parts too). `sink` names the sink in errors: a path that is a
 * file, or a folder that cannot be created or written, is one line naming both.
 */
export async function removeUncommittedParts(dir: string, all = false, sink?: string): Promise<number> {
  try {
    await mkdir(dir, { recursive: true });
    let n = 0;
    for (const name of await readdir(dir)) {
      if ((name.startsWith('.part-') && name.endsWith('.tmp')) || (all && name.startsWith('part-'))) {
        await rm(join(dir, name), { force: true });
        n++;
      }
    }
    return n;
  } catch (err) {
    // A recursive mkdir under a folder it may not write (read-only mounts) says ENOENT: find out which.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !(await ancestorWritable(dir))) throw sinkPathError(Object.assign(new Error('permission denied'), { code: 'EACCES' }), dir, sink);
    throw sinkPathError(err, dir, sink);
  }
}

/** Whether the nearest existing folder at or above `dir` is writable by this process. */
async function ancestorWritable(dir: string): Promise<boolean> {
  for (let d = dir; ; d = dirname(d)) {
    try {
      await access(d, constants.F_OK);
    } catch {
      if (dirname(d) === d) return true;
      continue;
    }
    try {
      await access(d, constants.W_OK);
      return true;
    } catch {
      return false;
    }
  }
}

/** A file system error on a file sink's folder as one line naming the sink, the path and the fix. */
export function sinkPathError(err: unknown, dir: string, sink?: string): SluiceError {
  if (err instanceof SluiceError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  const who = sink ? `file sink "${sink}"` : 'file sink';
  const why =
    code === 'EEXIST' || code === 'ENOTDIR'
      ? 'the path (or a folder above it) is an existing file, not a folder; choose another path or move the file'
      : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
        ? 'permission denied: this process may not create or write that folder; grant write access or choose another path'
        : `${(err as Error).message ?? String(err)}`;
  return new SluiceError(code === 'EEXIST' || code === 'ENOTDIR' ? 'INVALID_TOPOLOGY' : 'STORAGE_ERROR', `${who}: cannot use "${dir}" as its folder: ${why}`, { path: dir, ...(sink ? { sink } : {}) }, { cause: err });
}
