import { describe, expect, it } from 'vitest';
import { parseGraph } from '../../src/ir/parser.js';
import { compile } from '../../src/compiler.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';
import { Session } from '../../src/runtime/session.js';
import { Random } from '../../src/frontend/torch/random.js';
import { useGpu } from '../helpers/gpu.js';
import { expectClose, randomData } from '../helpers/compare.js';

/** IR text of `count` chained tanh-approximate gelus over an f32[shape] input. */
function geluChain(count: number, shape = '64'): string {
  const lines = Array.from({ length: count }, (_, i) =>
    `  %g${i} = gelu(%${i === 0 ? 'x' : `g${i - 1}`}) {approximate = "tanh"} : f32[${shape}] @webgpu`);
  return [`graph chain(%x: f32[${shape}] @webgpu) -> (f32[${shape}] @webgpu) {`, ...lines, `  return %g${count - 1}`, '}'].join('\n');
}

// Each gelu's math names its operand four times: composing by substitution grew the shader
// exponentially (8 gelus, 15 MB). One `let` per value keeps it linear.
describe('fused kernels grow linearly with their body', () => {
  for (const [count, limit] of [[16, 4096], [64, 16384]] as const) {
    it(`${count} chained tanh-gelus: one kernel under ${limit} bytes of WGSL`, () => {
      const program = compile(parseGraph(geluChain(count)));
      expect(program.dispatches.length).toBe(1);
      const wgsl = program.kernels[program.dispatches[0]!.kernel]!.wgsl;
      expect(wgsl.length).toBeLessThan(limit);
      // Each gelu but the last (returned as it is) is one `let`, which the next reads by name.
      expect(wgsl.match(/let v\d+ =/g)?.length).toBe(count - 1);
    });
  }

  it('a matmul + bias + gelu epilogue reads the bias once', () => {
    const program = compile(parseGraph(`graph g(%x: f32[4,8] @webgpu, %w: f32[8,16] @webgpu, %b: f32[16] @webgpu) -> (f32[4,16] @webgpu) {
      %0 = matmul(%x, %w) : f32[4,16] @webgpu
      %1 = add(%0, %b) : f32[4,16] @webgpu
      %2 = gelu(%1) {approximate = "tanh"} : f32[4,16] @webgpu
      return %2
    }`));
    expect(program.dispatches.length).toBe(1);
    const wgsl = program.kernels[program.dispatches[0]!.kernel]!.wgsl;
    expect(wgsl.match(/e0\[/g)?.length).toBe(1);
  });

  it('casts are not converted twice: a cast body reads f16(f32(...)), never f32(f32(...))', () => {
    const program = compile(parseGraph(`graph g(%x: f16[8] @webgpu) -> (f16[8] @webgpu) {
      %a = cast(%x) {to = "f32"} : f32[8] @webgpu
      %b = exp(%a) : f32[8] @webgpu
      %c = cast(%b) {to = "f16"} : f16[8] @webgpu
      return %c
    }`));
    const wgsl = program.kernels[program.dispatches[0]!.kernel]!.wgsl;
    expect(wgsl).toMatch(/return f16\(f32\(exp\(f32\(p0\)\)\)\);/);
    expect(wgsl).not.toMatch(/(f16|f32)\(\1\(/);
  });

  const gpu = useGpu();
  it('16 chained tanh-gelus agree with the CPU reference on the device', async () => {
    const g = parseGraph(geluChain(16, '3,50'));
    const inputs = { x: randomData('f32', [3, 50], new Random(5)) };
    const s = await Session.create(gpu(), compile(g));
    try {
      const out = await s.run(inputs);
      expectClose(out.g15!, runOnCpu(g, inputs).g15!, 1e-5, 1e-5);
    } finally {
      s.destroy();
    }
  });
});
