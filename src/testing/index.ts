export { runTopology } from './harness.js';
export type { HarnessOptions, HarnessResult } from './harness.js';
export { ManualClock } from '../core/clock.js';
