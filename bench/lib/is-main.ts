import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Whether the module at `url` is the script node was started with. Compares whole paths:
 * a suffix test is wrong here, as `bench/run.js` and `bench/child.js` end names of other files.
 */
export function isMainModule(url: string): boolean {
  return process.argv[1] !== undefined && fileURLToPath(url) === resolve(process.argv[1]);
}
