// Eager ops over many shapes: wall time and programs generated for a stream of ops whose shapes
// vary (one Program per form of shapes) and for one shape repeated (the steady state), so that a
// symbolic kernel's cost against a fixed one shows. Run: `npx tsx bench/eager-shapes.ts [ops] [workload name filter]`.
import * as kiln from '../src/index.js';
import { eagerCacheStats } from '../src/frontend/torch/eager-ops.js';
import { defaultGpu } from '../src/frontend/torch/devices.js';
import { EagerRunner } from '../src/runtime/eager.js';
import { Random } from '../src/frontend/torch/random.js';

const OPS = Number(process.argv[2] ?? 1000);
const rng = new Random(7);
const int = (lo: number, hi: number) => lo + Math.floor(rng.uniform(0, 1) * (hi - lo + 1));

interface Workload {
  readonly name: string;
  /** The operand shapes of op i. */
  readonly shapes: (i: number) => number[][];
  readonly op: (...xs: kiln.Tensor[]) => kiln.Tensor;
}

const varying = (f: () => number[][]) => { const all = Array.from({ length: OPS }, f); return (i: number) => all[i]!; };
const workloads: Workload[] = [
  { name: 'add, varying [r,c]', shapes: varying(() => { const s = [int(2, 64), int(2, 256)]; return [s, s]; }), op: (a, b) => a.add(b) },
  { name: 'add, [64,256] repeated', shapes: () => [[64, 256], [64, 256]], op: (a, b) => a.add(b) },
  { name: 'matmul, varying [m,k]x[k,n]', shapes: varying(() => { const [m, k, n] = [int(2, 128), int(2, 128), int(2, 128)]; return [[m, k], [k, n]]; }), op: (a, b) => a.matmul(b) },
  { name: 'matmul, [128,128]x[128,128] repeated', shapes: () => [[128, 128], [128, 128]], op: (a, b) => a.matmul(b) },
  { name: 'sum(dim 1), varying [r,c]', shapes: varying(() => [[int(2, 64), int(2, 4096)]]), op: (a) => a.sum({ dim: 1 }) },
  { name: 'sum(dim 1), [16,4096] repeated', shapes: () => [[16, 4096]], op: (a) => a.sum({ dim: 1 }) },
  { name: 'softmax, varying [r,c]', shapes: varying(() => [[int(2, 64), int(2, 1024)]]), op: (a) => a.softmax(-1) },
];

async function main() {
  const gpu = await defaultGpu();
  const runner = EagerRunner.for(gpu);
  console.log(`| workload (${OPS} ops) | wall ms | ms/op | programs generated | pipelines created |`);
  console.log('|---|---|---|---|---|');
  for (const w of workloads.filter((x) => x.name.includes(process.argv[3] ?? ''))) {
    // Operands are uploaded before the clock starts: the op stream is what is timed.
    const operands = await Promise.all(Array.from({ length: OPS }, (_, i) => Promise.all(w.shapes(i).map((s) => kiln.randn(s).to('webgpu')))));
    const before = { programs: eagerCacheStats.programsGenerated, pipelines: runner.stats.pipelinesCreated };
    const start = performance.now();
    let last: kiln.Tensor | undefined;
    for (const xs of operands) {
      last?.dispose();
      last = w.op(...xs);
    }
    await last!.to('cpu'); // waits for every op queued before it
    const ms = performance.now() - start;
    console.log(`| ${w.name} | ${ms.toFixed(0)} | ${(ms / OPS).toFixed(3)} | ${eagerCacheStats.programsGenerated - before.programs} | ${runner.stats.pipelinesCreated - before.pipelines} |`);
    for (const xs of operands) for (const x of xs) x.dispose();
  }
  kiln.webgpu.shutdown();
}

void main();
