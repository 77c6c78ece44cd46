// Keeps the layering honest (STYLE.md): no import cycles among src/ and connectors/,
// and src/operators never imports connectors/ or src/online. Reads the compiled JS in dist/.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const roots = ['dist/src', 'dist/connectors'];
const files = [];
const walk = (d) => {
  for (const n of readdirSync(d)) {
    const p = join(d, n);
    if (statSync(p).isDirectory()) walk(p);
    else if (n.endsWith('.js')) files.push(resolve(p));
  }
};
roots.forEach(walk);

const IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s+['"](\.{1,2}\/[^'"]+)['"]/gm;
const graph = new Map();
for (const f of files) {
  const deps = [];
  for (const m of readFileSync(f, 'utf8').matchAll(IMPORT)) deps.push(resolve(dirname(f), m[1]));
  graph.set(f, deps.filter((d) => graph.has(d) || files.includes(d)));
}

const problems = [];
const name = (f) => relative(resolve('dist'), f);
for (const [f, deps] of graph) {
  if (name(f).startsWith('src/operators/')) {
    for (const d of deps) if (/^(connectors|src\/online)\//.test(name(d))) problems.push(`${name(f)} imports ${name(d)}: operators may use src/state, never connectors or src/online`);
  }
}
const state = new Map(); // 1 = on the stack, 2 = done
const stack = [];
const visit = (f) => {
  state.set(f, 1);
  stack.push(f);
  for (const d of graph.get(f) ?? []) {
    if (state.get(d) === 1) problems.push(`import cycle: ${[...stack.slice(stack.indexOf(d)), d].map(name).join(' → ')}`);
    else if (!state.has(d)) visit(d);
  }
  stack.pop();
  state.set(f, 2);
};
for (const f of graph.keys()) if (!state.has(f)) visit(f);

if (problems.length) {
  console.error(`check-imports: ${problems.length} problem(s)\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.error(`check-imports: ${files.length} modules, no cycles, layers respected`);
