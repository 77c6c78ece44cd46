import type { BenchResult } from './result.js';

/** A benchmark measures sluice and, in the same run, the ceiling it is compared with. */
export interface Benchmark {
  name: string;
  mode: BenchResult['mode'];
  description: string;
  /** How long `npm run bench` lets it run before killing it. Default 120 s. */
  timeLimitMs?: number;
  run(): Promise<BenchResult[]>;
}
