import { describe, expect, it } from 'vitest';
import { EncoderBlock } from '../../../examples/transformer/block.js';
import { randn } from '../../../src/frontend/torch/tensor-creation.js';
import { trace } from '../../../src/frontend/trace/trace.js';
import { compile } from '../../../src/compiler.js';
import { instantiateGraph } from '../../../src/ir/instantiate.js';
import { tensorData } from '../../../src/ir/tensor-data.js';
import { printGraph } from '../../../src/ir/printer.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';
import { Session } from '../../../src/runtime/session.js';
import { Random } from '../../../src/frontend/torch/random.js';
import { useGpu } from '../../helpers/gpu.js';
import { expectClose } from '../../helpers/compare.js';
import { decoderStepGraph } from '../../../bench/models/decoder-step.js';

describe('tracing with sizes that vary (trace\'s dynamic)', () => {
  const gpu = useGpu();

  it('a transformer encoder block over a batch of 1..3 and a sequence of 1..512: the CPU reference\'s answer at every length from one program', async () => {
    const block = new EncoderBlock(16, 2);
    const g = trace(block, [randn([2, 7, 16])], { dynamic: [['1<=B<=3', '1<=T<=512', null]] });
    expect(printGraph(g)).toContain('sizes(B: [1, 3], T: [1, 512])');
    const program = compile(g);
    const session = await Session.create(gpu(), program);
    const loaded = { ...session.stats };
    try {
      for (const [b, t] of [[2, 512], [1, 1], [3, 37], [1, 200]] as const) {
        const fixed = instantiateGraph(g, { B: b, T: t });
        const rng = new Random(b * 1000 + t);
        const x = tensorData('f32', [b, t, 16], Array.from({ length: b * t * 16 }, () => rng.normal()));
        const got = await session.run({ x });
        const want = runOnCpu(fixed, { x });
        expect(got.y!.shape).toEqual([b, t, 16]);
        expectClose(got.y!, want.y!, 1e-4, 1e-4);
      }
      const after = session.stats;
      expect([after.pipelinesCreated, after.shaderModulesCreated, after.bindGroupsCreated]).toEqual([loaded.pipelinesCreated, loaded.shaderModulesCreated, loaded.bindGroupsCreated]);
    } finally {
      session.destroy();
    }
  });

  it('a decoder step over a KV cache of 1..64 tokens: one attention kernel per layer, the CPU reference\'s answer at every cache length', async () => {
    const g = decoderStepGraph({ layers: 2, dim: 32, heads: 2, mlpRatio: 2, cached: 8 }, '1<=T<=64');
    // For a GPU, where fuse-attention runs.
    const program = compile(g, { adapterClass: 'gpu' });
    expect(program.kernels.filter((k) => k.name === 'attention')).toHaveLength(1);
    expect(program.dispatches.filter((d) => program.kernels[d.kernel]!.name === 'attention')).toHaveLength(2);
    const session = await Session.create(gpu(), program);
    const loaded = { ...session.stats };
    try {
      for (const t of [1, 64, 9]) {
        const fixed = instantiateGraph(g, { T: t });
        const rng = new Random(t);
        const inputs = Object.fromEntries(fixed.inputs.map((v) => [v.name, tensorData('f32', v.type.shape, Array.from({ length: v.type.shape.reduce((p, d) => p * d, 1) }, () => rng.normal()))]));
        expectClose((await session.run(inputs)).y!, runOnCpu(fixed, inputs).y!, 1e-4, 1e-4);
      }
      expect(session.stats.pipelinesCreated).toBe(loaded.pipelinesCreated);
      expect(session.stats.bindGroupsCreated).toBe(loaded.bindGroupsCreated);
    } finally {
      session.destroy();
    }
  });

  it('refuses a dynamic spec that does not fit the input', () => {
    expect(() => trace(new EncoderBlock(16, 2), [randn([2, 7, 16])], { dynamic: [['B<=3', null]] })).toThrow('dynamic sizes for input 0 name 2 dimensions, but it has 3');
    expect(() => trace(new EncoderBlock(16, 2), [randn([2, 7, 16])], { dynamic: [['B', null, null]] })).toThrow("'B' is not a size with its range");
  });
});
