import { describe, expect, it } from 'vitest';
import { compileWithReport } from '../../src/compiler.js';
import { trace, type Module, type Tensor } from '../../src/frontend/trace/index.js';
import { Session } from '../../src/runtime/session.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';
import * as shufflenet from '../../examples/shufflenet/unit.js';
import * as transformer from '../../examples/transformer/block.js';
import { useGpu } from '../helpers/gpu.js';
import { expectClose } from '../helpers/compare.js';

// What the optimising pipeline must achieve on the example blocks: few kernels, buffers reused,
// and the same results as the unoptimised pipeline.
describe('fusion and memory planning on the example blocks', () => {
  const gpu = useGpu();
  const blocks: [string, { model: Module; exampleInputs: Tensor[] }][] = [['ShuffleNet unit', shufflenet], ['transformer block', transformer]];

  for (const [name, m] of blocks) {
    it(`${name}: dispatches <= 40% of the ops, outputs equal to -O0 within 1e-5`, async () => {
      const graph = trace(m.model, m.exampleInputs);
      const o2 = compileWithReport(graph);
      const o0 = compileWithReport(graph, { pipeline: 'O0' });
      expect(o2.stats.dispatchesPerRun).toBeLessThanOrEqual(0.4 * o2.stats.opsBefore);
      expect(o2.stats.scratchBytesPlanned).toBeLessThan(o2.stats.scratchBytesNaive);
      const inputs = Object.fromEntries(graph.inputs.map((v, i) => [v.name, m.exampleInputs[i]!.data]));
      const outs = [];
      for (const program of [o0.program, o2.program]) {
        const s = await Session.create(gpu(), program);
        try {
          outs.push(await s.run(inputs));
        } finally {
          s.destroy();
        }
      }
      const cpu = runOnCpu(graph, inputs);
      for (const v of graph.outputs) {
        expectClose(outs[1]![v.name]!, outs[0]![v.name]!, 1e-5, 0);
        expectClose(outs[1]![v.name]!, cpu[v.name]!, 1e-4, 0);
      }
    });
  }
});
