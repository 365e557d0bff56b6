import { describe, expect, it } from 'vitest';
import { parseGraph } from '../../src/ir/parser.js';
import { instantiateGraph } from '../../src/ir/instantiate.js';
import type { Graph } from '../../src/ir/graph.js';
import { tensorData, type TensorData } from '../../src/ir/tensor-data.js';
import { numel } from '../../src/ir/types.js';
import { compile } from '../../src/compiler.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';
import { Session } from '../../src/runtime/session.js';
import { resolveProgram } from '../../src/runtime/sizes.js';
import { Random } from '../../src/frontend/torch/random.js';
import { useGpu } from '../helpers/gpu.js';
import { expectClose } from '../helpers/compare.js';

/** Random inputs of the graph instantiated at `sizes`. */
function inputsAt(g: Graph, seed: number): Record<string, TensorData> {
  const rng = new Random(seed);
  return Object.fromEntries(g.inputs.map((v) => [v.name, tensorData('f32', v.type.shape, Array.from({ length: numel(v.type.shape) }, () => rng.normal()))]));
}

/**
 * Compiles `text` once, then at each sizes setting: the program's words equal those of the
 * static graph compiled at those sizes (same kernels, uniforms and workgroup counts: nothing
 * of the largest sizes was baked in), and one
 * session, created once, gives the CPU reference's outputs; nothing is created after load.
 */
async function checkAcrossSizes(gpu: ReturnType<ReturnType<typeof useGpu>>, text: string, settings: readonly Record<string, number>[]) {
  const g = parseGraph(text);
  const program = compile(g);
  expect(program.sizes?.length).toBeGreaterThan(0);
  const session = await Session.create(gpu, program);
  const created = { ...session.stats };
  try {
    for (const [i, env] of settings.entries()) {
      const fixed = instantiateGraph(g, env);
      const want = resolveProgram(program, new Map(Object.entries(env)));
      const stat = compile(fixed);
      // A static kernel may specialise an extent of 1 (a broadcast read at the flat index), which
      // one serving every size cannot; elsewhere both must be the same kernels and words.
      if (Object.values(env).every((n) => n > 1)) expect(want.dispatches.map((d) => [program.kernels[d.kernel]!.wgsl, d.uniforms, d.workgroups]))
        .toEqual(stat.dispatches.map((d) => [stat.kernels[d.kernel]!.wgsl, d.uniforms, d.workgroups]));
      const inputs = inputsAt(fixed, i + 1);
      const got = await session.run(inputs);
      const ref = runOnCpu(fixed, inputs);
      for (const o of fixed.outputs) {
        expect(got[o.name]!.shape).toEqual(o.type.shape);
        expectClose(got[o.name]!, ref[o.name]!, 1e-5, 1e-4);
      }
    }
    const after = session.stats;
    expect([after.pipelinesCreated, after.shaderModulesCreated, after.bindGroupsCreated, after.buffersCreated])
      .toEqual([created.pipelinesCreated, created.shaderModulesCreated, created.bindGroupsCreated, created.buffersCreated]);
  } finally {
    session.destroy();
  }
}

describe('programs compiled for a range of shapes', () => {
  const gpu = useGpu();

  it('run elementwise chains at every size from one session', async () => {
    await checkAcrossSizes(gpu(), `graph g(%x: f32[N,4] @webgpu, %y: f32[N,4] @webgpu) -> (f32[N,4] @webgpu) sizes(N: [1, 600]) {
  %b = const() {value = [0.5, -1, 2, 0.25]} : f32[4] @webgpu
  %s = add(%x, %b) : f32[N,4] @webgpu
  %m = mul(%s, %y) : f32[N,4] @webgpu
  %r = relu(%m) : f32[N,4] @webgpu
  return %r
}
`, [{ N: 1 }, { N: 600 }, { N: 77 }]);
  });
});
