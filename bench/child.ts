// One system's bench process: `node dist/bench/child.js --system ID --workloads a,b --runs N
// --warmup N --out FILE`. Writes its report to FILE after every row, so a crash keeps the rows
// measured before it; progress goes to stderr. Started by bench/main.ts, one per system.
import { writeFileSync, renameSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { ChildReport } from './rows.js';
import { runSystem } from './run-system.js';
import { isSystemId, loadSystem } from './systems/index.js';
import { selectWorkloads } from './workloads.js';

const { values } = parseArgs({
  options: {
    system: { type: 'string' },
    workloads: { type: 'string' },
    runs: { type: 'string' },
    warmup: { type: 'string' },
    out: { type: 'string' },
    'kiln-wait': { type: 'string' },
  },
  strict: true,
});

const id = values.system ?? '';
if (!isSystemId(id) || !values.out) {
  console.error('usage: child.js --system ID --out FILE [--workloads a,b] [--runs N] [--warmup N] [--kiln-wait sleep|spin]');
  process.exit(2);
}
const out = values.out;
const save = (report: ChildReport): void => {
  // Written whole and renamed, so the parent never reads half a file.
  writeFileSync(`${out}.tmp`, JSON.stringify(report));
  renameSync(`${out}.tmp`, out);
};

const wait = values['kiln-wait'];
const system = await loadSystem(id, wait === 'sleep' || wait === 'spin' ? { kilnWait: wait } : {});
const report = await runSystem(system, selectWorkloads(values.workloads?.split(','), false), {
  runs: Number(values.runs ?? 10),
  warmup: Number(values.warmup ?? 2),
  log: (m) => console.error(`[bench] ${m}`),
  onProgress: save,
});
save(report);
// Leave at once: peers keep wasm worker threads and Dawn devices alive that would hold the
// process open (or crash it while tearing down).
process.exit(0);
