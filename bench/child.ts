// Runs one benchmark in a fresh process (so peak RSS is its own) and prints its results.
import { BENCHMARKS } from './registry.js';

const name = process.argv[2];
const bench = BENCHMARKS.find((b) => b.name === name);
if (!bench) {
  console.error(`unknown benchmark "${name}"; known: ${BENCHMARKS.map((b) => b.name).join(', ')}`);
  process.exit(2);
}
const results = await bench.run();
for (const r of results) process.stdout.write('RESULT ' + JSON.stringify(r) + '\n');
process.exit(0);
