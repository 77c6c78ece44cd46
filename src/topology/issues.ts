import { SluiceError } from '../core/errors.js';

/** One thing wrong with a topology, at a path such as ['pipeline', 2, 'score', 'model']. */
export interface Issue {
  path: (string | number)[];
  message: string;
}

/** Finds the 1-based line of a path in the source file, or undefined (builder input has no file). */
export type Locator = (path: (string | number)[]) => number | undefined;

export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out || '(root)';
}

/** Formats as `file:line path: message`, the form every topology error takes. */
export function formatIssue(issue: Issue, file: string | undefined, locate: Locator | undefined): string {
  const line = locate?.(issue.path);
  const where = file ? `${file}${line ? `:${line}` : ''} ` : '';
  return `${where}${formatPath(issue.path)}: ${issue.message}`;
}

export class TopologyError extends SluiceError {
  readonly issues: Issue[];
  readonly lines: string[];

  constructor(issues: Issue[], file?: string, locate?: Locator) {
    const lines = issues.map((i) => formatIssue(i, file, locate));
    const head = issues.length === 1 ? 'invalid topology' : `invalid topology (${issues.length} problems)`;
    super('INVALID_TOPOLOGY', `${head}:\n  ${lines.join('\n  ')}`, file ? { file } : {});
    this.name = 'TopologyError';
    this.issues = issues;
    this.lines = lines;
  }
}
