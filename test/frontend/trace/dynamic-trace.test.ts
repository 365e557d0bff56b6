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

  it('refuses a dynamic spec that does not fit the input', () => {
    expect(() => trace(new EncoderBlock(16, 2), [randn([2, 7, 16])], { dynamic: [['B<=3', null]] })).toThrow('dynamic sizes for input 0 name 2 dimensions, but it has 3');
    expect(() => trace(new EncoderBlock(16, 2), [randn([2, 7, 16])], { dynamic: [['B', null, null]] })).toThrow("'B' is not a size with its range");
  });
});
