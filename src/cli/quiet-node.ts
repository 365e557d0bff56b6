#!/usr/bin/env node
// `node quiet-node.js SCRIPT ARGS...`: runs a Node script (the examples, the benchmarks) as
// `node SCRIPT ARGS...` would, without Dawn's adapter warnings on its stderr (see dawn-log.ts).
import { runWithoutDawnWarnings } from './dawn-log.js';

const [script, ...args] = process.argv.slice(2);
if (!script) {
  process.stderr.write('usage: node quiet-node.js SCRIPT [ARGS...]\n');
  process.exit(2);
}
runWithoutDawnWarnings(script, args);
