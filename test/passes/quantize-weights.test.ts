import { describe, expect, it } from 'vitest';
import { optimize, passContext } from '../../src/compiler.js';
import { parseGraph } from '../../src/ir/parser.js';
import { printGraph } from '../../src/ir/printer.js';
import { deadCodeElimination } from '../../src/passes/dce.js';
import { runPasses } from '../../src/passes/manager.js';
import { MIN_INT8_ELEMENTS, quantizeWeightsOf } from '../../src/passes/quantize-weights.js';
import { ir } from './helpers.js';

/** Runs quantize-weights (on weights of `minElements` or more) then dce on IR text; returns the printed result and the pass's notes. */
function quantize(text: string, minElements = 0): { out: string; log: string[] } {
  const log: string[] = [];
  const { graph } = runPasses(parseGraph(ir(text)), [quantizeWeightsOf(minElements), deadCodeElimination], { ...passContext(), log: (m) => log.push(m) }, { verifyEach: true });
  return { out: printGraph(graph), log };
}

describe('quantize-weights', () => {
  it('stores a gemm (trans_b) weight and a transposed matmul weight as int8, one scale per output channel', () => {
    // Channel 0 ([1, 2, 3, 4]): scale 4/127, q = round(w * 127 / 4) = 32, 64, 95, 127, packed
    // little-endian into 0x7f5f4020; channel 1 ([-127, 0, 0, 127]): scale 1, q = w (0x7f000081).
    // The matmul reads W^T [4, 2]: stored transposed, its channels along axis 1. The scales are
    // f16 two a word: 4/127 (0x2808) in the low half, 1 (0x3c00) in the high one.
    const scales = (0x3c00 << 16 | 0x2808) >>> 0;
    const { out, log } = quantize(`
      graph g(%x: f32[3,4] @webgpu) -> (f32[3,2] @webgpu, f32[3,2] @webgpu) {
        %w = const() {value = [1, 2, 3, 4, -127, 0, 0, 127]} : f32[2,4] @webgpu
        %y = gemm(%x, %w) {trans_b = true} : f32[3,2] @webgpu
        %t = transpose(%w) {perm = [1, 0]} : f32[4,2] @webgpu
        %z = matmul(%x, %t) : f32[3,2] @webgpu
        return %y, %z
      }
    `);
    expect(out).toBe(ir(`
      graph g(%x: f32[3,4] @webgpu) -> (f32[3,2] @webgpu, f32[3,2] @webgpu) {
        %w.int8 = const() {value = [${0x7f5f4020}, ${0x7f000081}]} : u32[2] @webgpu
        %w.scale = const() {value = [${scales}]} : u32[1] @webgpu
        %0 = dequantize_int8(%w.int8, %w.scale) {axis = 0, shape = [2, 4]} : f32[2,4] @webgpu
        %y = gemm(%x, %0) {trans_b = true} : f32[3,2] @webgpu
        %w.T.int8 = const() {value = [${0x00408120}, ${0x7f7f005f}]} : u32[2] @webgpu
        %w.T.scale = const() {value = [${scales}]} : u32[1] @webgpu
        %1 = dequantize_int8(%w.T.int8, %w.T.scale) {axis = 1, shape = [4, 2]} : f32[4,2] @webgpu
        %z = matmul(%x, %1) : f32[3,2] @webgpu
        return %y, %z
      }
    `));
    expect(log).toEqual(['quantize-weights: 2 weight(s) stored as int8: 64 -> 24 bytes']);
  });

  it('leaves a conv_transpose2d weight and a weight with NaN float, and says so', () => {
    const { out, log } = quantize(`
      graph g(%x: f32[1,1,2,2] @webgpu, %a: f32[2,2] @webgpu) -> (f32[1,1,3,3] @webgpu, f32[2,2] @webgpu) {
        %w = const() {value = [1, 2, 3, 4]} : f32[1,1,2,2] @webgpu
        %y = conv_transpose2d(%x, %w) : f32[1,1,3,3] @webgpu
        %m = const() {value = [1, nan, 3, 4]} : f32[2,2] @webgpu
        %z = matmul(%a, %m) : f32[2,2] @webgpu
        return %y, %z
      }
    `);
    expect(out).not.toContain('dequantize_int8');
    expect(log.join('\n')).toMatch(/left float: %w \(conv_transpose2d: loads float weights only\), %m \(matmul: weight element 1 is NaN: only finite weights can be quantized\)/);
  });

  it('leaves weights of under MIN_INT8_ELEMENTS elements float by default, and counts them', () => {
    const k = MIN_INT8_ELEMENTS;
    const log: string[] = [];
    const { graph } = optimize(parseGraph(ir(`
      graph g(%x: f32[1,${k}] @webgpu, %x1: f32[1,${k - 1}] @webgpu) -> (f32[1,1] @webgpu, f32[1,1] @webgpu) {
        %big = const() {value = [${Array.from({ length: k }, (_, i) => i % 7).join(', ')}]} : f32[${k},1] @webgpu
        %y = matmul(%x, %big) : f32[1,1] @webgpu
        %small = const() {value = [${Array.from({ length: k - 1 }, () => 1).join(', ')}]} : f32[${k - 1},1] @webgpu
        %z = matmul(%x1, %small) : f32[1,1] @webgpu
        return %y, %z
      }
    `)), { pipeline: 'quantize-weights,dce', weights: 'int8', log: (m) => log.push(m) });
    const out = printGraph(graph);
    expect(out).toContain('%big.int8 = const()');
    expect(out).toContain(`%small = const()`);
    expect(out).toMatch(/%z = matmul\(%x1, %small\)/);
    expect(log).toEqual([`quantize-weights: 1 weight(s) stored as int8: ${4 * k} -> ${k + 4} bytes; 1 weight(s) of under ${k} elements left float`]);
  });
});
