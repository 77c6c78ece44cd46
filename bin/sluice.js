#!/usr/bin/env node
// The CLI entry: the compiled code lives in dist/ (npm run build).
import { main } from '../dist/src/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Exit even if a library left a handle open; unref'd so a clean shutdown exits at once.
    setTimeout(() => process.exit(code), 2000).unref();
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
