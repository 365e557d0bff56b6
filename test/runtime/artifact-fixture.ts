import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileWithReport } from '../../src/compiler.js';
import { parseGraph } from '../../src/ir/parser.js';
import { tensorData, type TensorData } from '../../src/ir/tensor-data.js';
import { Random } from '../../src/frontend/torch/random.js';
import type { Graph } from '../../src/ir/graph.js';
import type { Program } from '../../src/runtime/program.js';
import { signManifest } from '../../src/artifact-writer/pack.js';

// A small compiled model for artifact tests: odd sizes, two weights (one large enough to print as
// a ref), a matmul with a fused epilogue, a softmax, and two outputs.

export const TINY_IR = `
graph tiny(%x: f32[3,37] @webgpu) -> (f32[3,5] @webgpu, f32[3,5] @webgpu) {
  %w = const() {ref = "w"} : f32[37,5] @webgpu
  %b = const() {ref = "b"} : f32[5] @webgpu
  %0 = matmul(%x, %w) : f32[3,5] @webgpu
  %1 = add(%0, %b) : f32[3,5] @webgpu
  %y = relu(%1) : f32[3,5] @webgpu
  %p = softmax(%1) : f32[3,5] @webgpu
  return %y, %p
}
`;

function randomF32(rng: Random, shape: number[]): TensorData {
  const n = shape.reduce((a, b) => a * b, 1);
  return tensorData('f32', shape, Array.from({ length: n }, () => rng.normal()));
}

/** The tiny graph with seeded weights. */
export function tinyGraph(): Graph {
  const rng = new Random(7);
  return parseGraph(TINY_IR, { weights: new Map([['w', randomF32(rng, [37, 5])], ['b', randomF32(rng, [5])]]) });
}

/** The tiny graph compiled (O2), with the optimised graph. */
export function tinyProgram(): { program: Program; optimized: Graph } {
  const report = compileWithReport(tinyGraph());
  return { program: report.program, optimized: report.graph };
}

/** Seeded inputs for the tiny program. */
export function tinyInputs(seed = 3): Record<string, TensorData> {
  return { x: randomF32(new Random(seed), [3, 37]) };
}

export async function tempDir(prefix = 'kiln-artifact-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Rewrites an artifact's manifest.json through `edit` (on the parsed JSON). */
export async function editManifest(dir: string, edit: (m: any) => void, opts: { resign?: boolean } = {}): Promise<void> {
  const path = join(dir, 'manifest.json');
  const m = JSON.parse(await readFile(path, 'utf8'));
  edit(m);
  // Re-signed by default, as a deliberate tamperer would, so the checks behind the checksum are
  // what refuses the edit; an edit the parser refuses anyway is written as it is.
  if (opts.resign ?? true) {
    try {
      m.sha256 = (await signManifest(m)).sha256;
    } catch {
      // left for the loader's structural checks
    }
  }
  await writeFile(path, JSON.stringify(m, null, 2));
}
