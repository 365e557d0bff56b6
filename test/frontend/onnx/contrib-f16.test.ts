// A half-precision LLM export's ops (q4f16: 4-bit weights with f16 scales, f16 activations,
// GroupQueryAttention with rotary) against ONNX Runtime, within f16's rounding.
import { describe, expect, it } from 'vitest';
import { compileSegmented } from '../../../src/compiler.js';
import { SegmentedSession } from '../../../src/runtime/segmented.js';
import { useGpu } from '../../helpers/gpu.js';
import { importOnnx } from '../../../src/frontend/onnx/index.js';
import { tensorData } from '../../../src/ir/tensor-data.js';
import { f32ToF16Bits, f16BitsToF32 } from '../../../src/ir/f16.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';
import { attr, contribModel, msNode, tensor } from './onnx-builder.js';
import { runOrt } from './ort-oracle.js';

describe('f16 contrib ops', () => {
  const gpu = useGpu();
  it('MatMulNBits with f16 scales feeding GroupQueryAttention with rotary: ONNX Runtime\'s answer on the CPU reference and WebGPU', async () => {
  const h = 16;
  const bytes = (n: number, s: number) => Array.from({ length: n }, (_, i) => (i * 37 + s * 11) % 256);
  const f16 = (name: string, dims: number[], s: number) => tensor(name, 10, dims, Array.from({ length: dims.reduce((a, d) => a * d, 1) }, (_, i) => f32ToF16Bits(Math.sin(s + i * 0.7) * 0.05 + 0.02)));
  const model = contribModel({
    inputs: [{ name: 'x', type: 10, dims: [1, 3, 32] }],
    outputs: [{ name: 'y', type: 10 }, { name: 'pk', type: 10 }],
    nodes: [
      msNode('MatMulNBits', ['x', 'qb', 'qs'], ['q'], { K: attr.i(32), N: attr.i(64), bits: attr.i(4), block_size: attr.i(16) }),
      msNode('MatMulNBits', ['x', 'kb', 'ks'], ['k'], { K: attr.i(32), N: attr.i(32), bits: attr.i(4), block_size: attr.i(16) }),
      msNode('GroupQueryAttention', ['q', 'k', 'k', '', '', 'sl', 'tot', 'cos', 'sin'], ['y', 'pk', ''], { num_heads: attr.i(4), kv_num_heads: attr.i(2), do_rotary: attr.i(1) }),
    ],
    initializers: [
      tensor('qb', 2, [64, 2, 8], bytes(1024, 1)), f16('qs', [128], 2), tensor('kb', 2, [32, 2, 8], bytes(512, 3)), f16('ks', [64], 4),
      tensor('sl', 6, [1], [2]), tensor('tot', 6, [], [3]), f16('cos', [8, h / 2], 5), f16('sin', [8, h / 2], 6),
    ],
  });
  const x = tensorData('f16', [1, 3, 32], Uint16Array.from({ length: 96 }, (_, i) => f32ToF16Bits(Math.cos(i * 0.3))));
  const [y, pk] = await runOrt(model, { x }, { x: 10 });
  const g = importOnnx(model);
  const session = await SegmentedSession.create(gpu(), compileSegmented(importOnnx(model)));
  try {
    const cpu = runOnCpu(g, { x });
    const dev = await session.run({ x });
    for (const [where, outs] of [['CPU reference', g.outputs.map((v) => cpu[v.name]!)], ['WebGPU', session.program.outputs.map((o) => dev[o]!)]] as const) {
      [y!, pk!].forEach((want, k) => {
        expect([...outs[k]!.shape], `${where} ${want.name}`).toEqual(want.dims);
        // About two f16 steps at 1 (2^-10 each): the products and sums round in another order.
        Array.from(outs[k]!.data as Uint16Array, f16BitsToF32).forEach((v, i) => {
          expect(Math.abs(v - want.values[i]!), `${where} ${want.name}[${i}]`).toBeLessThanOrEqual(2e-3 * (1 + Math.abs(want.values[i]!)));
        });
      });
    }
  } finally {
    session.destroy();
  }
  });
});
