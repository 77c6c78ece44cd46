/**
 * Path expansion: a file, a directory (its regular files, recursively), or a glob with
 * `*` and `?` (within one path segment) and `**` (any number of segments, as a whole
 * segment). The matcher walks from the pattern's longest literal prefix and keeps, per
 * directory, the set of pattern positions still alive, so it never descends into a
 * directory the pattern cannot match below.
 *
 * Names starting with "." are skipped by directory expansion, `*`, `?` and `**`, unless
 * the pattern segment itself starts with "." (as in a shell). Symbolic links to files are
 * followed; symbolic links to directories are not (no cycles).
 */
import { readdir, stat } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { SluiceError } from '../../src/core/errors.js';

type Segment = { globstar: true } | { globstar: false; re: RegExp; dot: boolean };

function hasGlob(s: string): boolean {
  return s.includes('*') || s.includes('?');
}

function compileSegment(seg: string): Segment {
  if (seg === '**') return { globstar: true };
  let src = '^';
  for (const ch of seg) {
    if (ch === '*') src += '[^/]*';
    else if (ch === '?') src += '[^/]';
    else src += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return { globstar: false, re: new RegExp(src + '$', 'su'), dot: seg.startsWith('.') };
}

function notFound(pattern: string, dir: string): SluiceError {
  return new SluiceError('NOT_FOUND', `no files match "${pattern}" (looked in ${dir})`, { path: pattern, dir });
}

async function statOrUndefined(p: string): Promise<Awaited<ReturnType<typeof stat>> | undefined> {
  try {
    return await stat(p);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** Whether a directory entry is a regular file / a directory to descend into (links to files count as files). */
async function kindOf(dir: string, e: Dirent): Promise<'file' | 'dir' | undefined> {
  if (e.isFile()) return 'file';
  if (e.isDirectory()) return 'dir';
  if (e.isSymbolicLink()) {
    const st = await statOrUndefined(join(dir, e.name));
    return st?.isFile() ? 'file' : undefined;
  }
  return undefined;
}

async function walkAll(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const kind = await kindOf(dir, e);
    if (kind === 'file') out.push(join(dir, e.name));
    else if (kind === 'dir') await walkAll(join(dir, e.name), out);
  }
}

/** Adds, for each globstar position, the position after it (a globstar may match no segment). */
function closure(segs: readonly Segment[], states: Iterable<number>): Set<number> {
  const out = new Set<number>();
  for (let s of states) {
    out.add(s);
    while (segs[s]?.globstar) out.add(++s);
  }
  return out;
}

async function walkGlob(dir: string, segs: readonly Segment[], states: ReadonlySet<number>, out: string[]): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return;
    throw err;
  }
  for (const e of entries) {
    const name = e.name;
    const hidden = name.startsWith('.');
    const next: number[] = [];
    for (const s of states) {
      const seg = segs[s];
      if (seg === undefined) continue;
      if (seg.globstar) {
        if (!hidden) next.push(s);
      } else if ((!hidden || seg.dot) && seg.re.test(name)) {
        next.push(s + 1);
      }
    }
    if (next.length === 0) continue;
    const closed = closure(segs, next);
    const kind = await kindOf(dir, e);
    if (kind === 'file') {
      if (closed.has(segs.length)) out.push(join(dir, name));
    } else if (kind === 'dir') {
      closed.delete(segs.length);
      if (closed.size > 0) await walkGlob(join(dir, name), segs, closed, out);
    }
  }
}

/**
 * Expands a file, a directory (all regular files inside, recursively), or a glob with
 * `*`, `?` and `**`, relative to baseDir, into absolute paths: sorted, deduplicated.
 * No match → SluiceError NOT_FOUND 'no files match "<pattern>" (looked in <dir>)'.
 */
export async function expandPaths(pattern: string, baseDir: string): Promise<string[]> {
  if (pattern.trim() === '') throw new SluiceError('INVALID_INPUT', 'expandPaths: the path pattern is empty');
  const abs = resolve(baseDir, pattern);
  const out: string[] = [];
  let lookedIn: string;
  if (!hasGlob(pattern)) {
    const st = await statOrUndefined(abs);
    if (st?.isFile()) return [abs];
    if (st?.isDirectory()) {
      await walkAll(abs, out);
      lookedIn = abs;
    } else {
      lookedIn = dirname(abs);
    }
  } else {
    const parts = abs.split(sep);
    const firstGlob = parts.findIndex(hasGlob);
    const rootParts = parts.slice(0, firstGlob);
    let root = rootParts.join(sep);
    if (root === '' || (rootParts.length === 1 && isAbsolute(root + sep))) root += sep; // "/" or "C:\"
    const segs = parts.slice(firstGlob).filter((p) => p !== '').map(compileSegment);
    lookedIn = root;
    const st = await statOrUndefined(root);
    if (st?.isDirectory()) await walkGlob(root, segs, closure(segs, [0]), out);
  }
  if (out.length === 0) throw notFound(pattern, lookedIn);
  return [...new Set(out)].sort();
}
