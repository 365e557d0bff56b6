import { describe, expect, it } from 'vitest';
import { lowerFp16 } from '../../src/passes/lower-fp16.js';
import { compileWithReport } from '../../src/compiler.js';
import { Linear, manualSeed, randn, ReLU, Sequential } from '../../src/frontend/torch/index.js';
import { trace } from '../../src/frontend/trace/trace.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';
import { Session } from '../../src/runtime/session.js';
import { useGpu } from '../helpers/gpu.js';
import { expectPass } from './helpers.js';

describe('lower-fp16', () => {
  it('converts weights, computes in f16, keeps softmax in f32 and the I/O in f32', () => {
    expectPass(lowerFp16(), `
      graph g(%x: f32[2,2] @webgpu) -> (f32[2,2] @webgpu) {
        %w = const() {value = [1, 0.1, 65520, -2]} : f32[2,2] @webgpu
        %0 = matmul(%x, %w) : f32[2,2] @webgpu
        %1 = relu(%0) : f32[2,2] @webgpu
        %y = softmax(%1) : f32[2,2] @webgpu
        return %y
      }`, `
      graph g(%x: f32[2,2] @webgpu) -> (f32[2,2] @webgpu) {
        %w = const() {value = [1, 0.1, 65520, -2]} : f32[2,2] @webgpu
        %2 = cast(%x) {to = "f16"} : f16[2,2] @webgpu
        %3 = const() {value = [1, 0.1, inf, -2]} : f16[2,2] @webgpu
        %0 = matmul(%2, %3) : f16[2,2] @webgpu
        %1 = relu(%0) : f16[2,2] @webgpu
        %4 = cast(%1) {to = "f32"} : f32[2,2] @webgpu
        %y = softmax(%4) : f32[2,2] @webgpu
        return %y
      }`);
  });

  it('keeps a cast into a narrow format (bfloat16) in f32, whose range it needs', () => {
    expectPass(lowerFp16(), `
      graph g(%x: f32[2] @webgpu) -> (f32[2] @webgpu) {
        %0 = relu(%x) : f32[2] @webgpu
        %y = cast(%0) {format = "bfloat16", to = "f32"} : f32[2] @webgpu
        return %y
      }`, `
      graph g(%x: f32[2] @webgpu) -> (f32[2] @webgpu) {
        %1 = cast(%x) {to = "f16"} : f16[2] @webgpu
        %0 = relu(%1) : f16[2] @webgpu
        %2 = cast(%0) {to = "f32"} : f32[2] @webgpu
        %y = cast(%2) {format = "bfloat16", to = "f32"} : f32[2] @webgpu
        return %y
      }`);
  });

  it('with f16 I/O the graph takes and returns f16', () => {
    expectPass(lowerFp16({ io: 'f16' }), `
      graph g(%x: f32[3] @webgpu) -> (f32[3] @webgpu) {
        %y = relu(%x) : f32[3] @webgpu
        return %y
      }`, `
      graph g(%x: f16[3] @webgpu) -> (f16[3] @webgpu) {
        %y = relu(%x) : f16[3] @webgpu
        return %y
      }`);
  });
});

describe('fp16 on WebGPU', () => {
  const gpu = useGpu();

  it('the traced MLP in f16 matches f32 within 1e-2 relative, with half the weight bytes', async () => {
    if (!gpu().features.has('shader-f16')) return;
    manualSeed(3);
    const model = new Sequential(new Linear(64, 48), new ReLU(), new Linear(48, 10));
    const graph = trace(model, [randn([16, 64])]);
    const f32 = compileWithReport(graph);
    const f16 = compileWithReport(graph, { precision: 'fp16' });
    expect(f16.stats.weightBytes).toBeLessThanOrEqual(f32.stats.weightBytes / 2 + 64);
    // With f16 I/O every activation buffer halves (f32 I/O adds a cast of the input).
    const f16io = compileWithReport(graph, { precision: 'fp16', ioPrecision: 'f16' });
    expect(f16io.stats.deviceBytesPlanned).toBeLessThanOrEqual(f32.stats.deviceBytesPlanned / 2 + 64);
    const session = await Session.create(gpu(), f16.program);
    try {
      let worst = 0;
      for (let i = 0; i < 8; i++) {
        const x = randn([16, 64]).data;
        const got = (await session.run({ x })).y!;
        const want = runOnCpu(graph, { x }).y!;
        expect(got.dtype).toBe('f32');
        const scale = Math.max(...Array.from(want.data as Float32Array, Math.abs));
        for (let k = 0; k < got.data.length; k++) worst = Math.max(worst, Math.abs(got.data[k]! - want.data[k]!) / scale);
      }
      expect(worst).toBeLessThan(1e-2);
    } finally {
      session.destroy();
    }
  });
});
