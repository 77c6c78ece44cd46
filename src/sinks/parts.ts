import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

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
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return n;
}

/** Deletes temporary parts left in `dir` by a job that stopped before their checkpoint (with `all`, finished parts too). */
export async function removeUncommittedParts(dir: string, all = false): Promise<number> {
  await mkdir(dir, { recursive: true });
  let n = 0;
  for (const name of await readdir(dir)) {
    if ((name.startsWith('.part-') && name.endsWith('.tmp')) || (all && name.startsWith('part-'))) {
      await rm(join(dir, name), { force: true });
      n++;
    }
  }
  return n;
}
