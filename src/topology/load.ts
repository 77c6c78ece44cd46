import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, isScalar, type Document } from 'yaml';
import { SluiceError } from '../core/errors.js';
import type { StepCatalog } from './catalog.js';
import { TopologyError, type Issue, type Locator } from './issues.js';
import { validateTopology } from './validate.js';
import type { TopologyDefinition } from './schema.js';

/** A validated definition with what is needed to resolve its relative paths and report its lines. */
export interface LoadedTopology {
  definition: TopologyDefinition;
  /** The file it came from, or undefined for a definition built in code. */
  file?: string;
  /** Relative paths (models, files, UDF modules) resolve against this. */
  baseDir: string;
  locate?: Locator;
}

export interface LoadOptions {
  /** Environment for `${VAR}` interpolation. Default process.env. */
  env?: Record<string, string | undefined>;
}

/** Reads, interpolates and validates a YAML or JSON topology file. Throws TopologyError. */
export function loadTopologyFile(file: string, catalog: StepCatalog, opts: LoadOptions = {}): LoadedTopology {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SluiceError('NOT_FOUND', `cannot read topology file "${file}": ${(err as Error).message}`, { file });
  }
  return parseTopology(text, file, catalog, opts);
}

/** Parses topology text (YAML, or JSON, which YAML reads too). `file` is used for messages and relative paths. */
export function parseTopology(text: string, file: string, catalog: StepCatalog, opts: LoadOptions = {}): LoadedTopology {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    const lines = doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      const msg = (e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
      return `${file}${pos ? `:${pos.line}:${pos.col}` : ''} ${msg}`;
    });
    throw new SluiceError('INVALID_TOPOLOGY', `cannot parse topology:\n  ${lines.join('\n  ')}`, { file });
  }
  const locate: Locator = (path) => lineOf(doc, lineCounter, path);
  const issues: Issue[] = [];
  interpolate(doc, opts.env ?? process.env, issues);
  if (issues.length) throw new TopologyError(issues, file, locate);
  const definition = validateTopology(doc.toJS(), catalog, { file, locate });
  return { definition, file, baseDir: dirname(resolve(file)), locate };
}

/** The 1-based line of `path` in a parsed YAML document (the nearest existing parent when it is missing). */
export function lineOf(doc: Document, lc: LineCounter, path: (string | number)[]): number | undefined {
  // A missing key has no node: fall back to the nearest existing parent.
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) return lc.linePos(node.range[0]).line;
  }
  return undefined;
}

const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Replaces `${VAR}` and `${VAR:-default}` in string scalars; an unset variable without default is an issue. */
function interpolate(doc: Document, env: Record<string, string | undefined>, issues: Issue[]): void {
  const walk = (node: unknown, path: (string | number)[]): void => {
    if (isScalar(node)) {
      if (typeof node.value !== 'string' || !node.value.includes('${')) return;
      const raw = node.value;
      const replaced = raw.replace(VAR, (_m, name: string, fallback: string | undefined) => {
        const v = env[name];
        if (v !== undefined) return v;
        if (fallback !== undefined) return fallback;
        issues.push({ path, message: `environment variable ${name} is not set (use \${${name}:-default} for a default)` });
        return '';
      });
      // A value that is exactly one variable keeps YAML typing: "${N}" with N=4 becomes the number 4.
      node.value = /^\$\{[^}]+\}$/.test(raw) && replaced !== '' && !Number.isNaN(Number(replaced)) ? Number(replaced) : replaced;
      return;
    }
    const items = (node as { items?: unknown[] } | null)?.items;
    if (!Array.isArray(items)) return;
    items.forEach((item, i) => {
      const pair = item as { key?: unknown; value?: unknown };
      if (pair && typeof pair === 'object' && 'key' in pair) {
        const k = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        walk(pair.value, [...path, k]);
      } else walk(item, [...path, i]);
    });
  };
  walk(doc.contents, []);
}
