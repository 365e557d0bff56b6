// The FLOP and byte estimates `kiln profile` sets beside each kernel's device time, checked by
// hand on ops whose work is known exactly, and on a compiled program's dispatches.
import { describe, expect, it } from 'vitest';
import { compileWithReport } from '../../src/compiler.js';
import { parseGraph } from '../../src/ir/parser.js';
import { dispatchCosts, kernelCost } from '../../src/cli/kernel-cost.js';
import { formatProfile } from '../../src/runtime/profiler.js';

/** Parses IR text whose types carry no device (all on the GPU). */
const parse = (text: string) => parseGraph(text.replace(/(f(?:16|32)\[[0-9,]*\])(?! @)/g, '$1 @webgpu'));
const nodeOf = (text: string, op: string) => parse(text).nodes.find((n) => n.op === op)!;

describe('kernel cost estimate', () => {
  it('matmul: 2·M·N·K FLOPs (batched too), operands read and result written once', () => {
    const mm = nodeOf(`graph g(%a: f32[3,64,96], %b: f32[96,80]) -> (f32[3,64,80]) {
  %0 = matmul(%a, %b) : f32[3,64,80]
  return %0
}`, 'matmul');
    expect(kernelCost(mm)).toEqual({ flops: 2 * 3 * 64 * 80 * 96, bytes: 4 * (3 * 64 * 96 + 96 * 80 + 3 * 64 * 80) });
  });

  it('gemm: 2·M·N·K plus the bias, with the transposes read from the attributes', () => {
    const g = nodeOf(`graph g(%a: f32[32,16], %b: f32[8,32], %c: f32[8]) -> (f32[16,8]) {
  %0 = gemm(%a, %b, %c) {trans_a = true, trans_b = true} : f32[16,8]
  return %0
}`, 'gemm');
    expect(kernelCost(g).flops).toBe(2 * 16 * 8 * 32 + 16 * 8);
  });

  it('conv2d: 2·(C_in/groups)·kH·kW per output element plus the bias; grouped and depthwise', () => {
    const dense = nodeOf(`graph g(%x: f32[1,8,10,10], %w: f32[16,8,3,3], %b: f32[16]) -> (f32[1,16,8,8]) {
  %0 = conv2d(%x, %w, %b) : f32[1,16,8,8]
  return %0
}`, 'conv2d');
    expect(kernelCost(dense)).toEqual({ flops: (2 * 8 * 9 + 1) * 16 * 64, bytes: 4 * (800 + 16 * 8 * 9 + 16 + 16 * 64) });
    const depthwise = nodeOf(`graph g(%x: f32[1,8,10,10], %w: f32[8,1,3,3]) -> (f32[1,8,8,8]) {
  %0 = conv2d(%x, %w) {groups = 8} : f32[1,8,8,8]
  return %0
}`, 'conv2d');
    expect(kernelCost(depthwise).flops).toBe(2 * 9 * 8 * 64);
  });

  it('elementwise 1 per element, softmax 4 per element, movement 0; f16 operands are 2 bytes', () => {
    const g = parse(`graph g(%a: f16[4,5], %b: f16[5]) -> (f16[5,4]) {
  %0 = add(%a, %b) : f16[4,5]
  %1 = softmax(%0) : f16[4,5]
  %2 = transpose(%1) : f16[5,4]
  return %2
}`);
    const [add, softmax, transpose] = g.nodes.filter((n) => n.op !== 'const');
    expect(kernelCost(add!)).toEqual({ flops: 20, bytes: 2 * (20 + 5 + 20) });
    expect(kernelCost(softmax!).flops).toBe(80);
    expect(kernelCost(transpose!).flops).toBe(0);
  });

  it('a fused kernel: its body\'s work, its own operands\' traffic; every dispatch of a program finds its node', () => {
    const g = parseGraph(`graph g(%a: f32[64,96] @webgpu, %b: f32[96,80] @webgpu, %c: f32[80] @webgpu) -> (f32[64,80] @webgpu) {
  %0 = matmul(%a, %b) : f32[64,80] @webgpu
  %1 = add(%0, %c) : f32[64,80] @webgpu
  %2 = relu(%1) : f32[64,80] @webgpu
  return %2
}`);
    const { program, graph } = compileWithReport(g);
    expect(program.dispatches).toHaveLength(1);
    const [cost] = dispatchCosts(program, graph);
    expect(cost).toEqual({ flops: 2 * 64 * 80 * 96 + 2 * 64 * 80, bytes: 4 * (64 * 96 + 96 * 80 + 80 + 64 * 80) });
    // 1 ms for 1 MFLOP is 1 GFLOP/s: the table shows the rates the estimate and the time make.
    const text = formatProfile({ dispatches: [{ index: 0, label: 'k -> %x', kernel: 'k', ms: 1, flops: 1e6, bytes: 2e6 }], deviceMs: 1, uploadMs: 0, readbackMs: 0, runs: 1 });
    expect(text).toMatch(/k -> %x +k +1\.000 +100\.0% +1\.00 +2\.00 +1\.00 +2\.00/);
  });

  it('a matmul reading a 4-bit blockwise weight: the product and 2 FLOPs per weight element dequantized; the codes\' bytes', () => {
    // B [64, 16] at 4 bits: 128 words of codes, 32 scales (blocks of 32 down its columns).
    const g = parseGraph(`graph g(%a: f32[1,64] @webgpu, %codes: u32[128] @webgpu, %scales: f32[32] @webgpu) -> (f32[1,16] @webgpu) {
  %0 = dequantize_blocks(%codes, %scales) {shape = [64, 16], bits = 4, block = 32} : f32[64,16] @webgpu
  %1 = matmul(%a, %0) : f32[1,16] @webgpu
  return %1
}`);
    const { program, graph } = compileWithReport(g);
    expect(program.dispatches).toHaveLength(1);
    expect(dispatchCosts(program, graph)[0]).toEqual({ flops: 2 * 16 * 64 + 2 * 64 * 16, bytes: 4 * (64 + 128 + 32 + 16) });
  });
});
