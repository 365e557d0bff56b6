import { describe, expect, it } from 'vitest';
import { compileSegmented } from '../../src/compiler.js';
import { parseGraph } from '../../src/ir/parser.js';
import { printGraph } from '../../src/ir/printer.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';
import { SegmentedSession } from '../../src/runtime/segmented.js';
import { Random } from '../../src/frontend/torch/random.js';
import { useGpu } from '../helpers/gpu.js';
import { runPasses } from '../../src/passes/manager.js';
import { placeDevices } from '../../src/passes/place-devices.js';
import { expectClose, randomData } from '../helpers/compare.js';

describe('graphs placed on WebGPU and the CPU', () => {
  const gpu = useGpu();

  it('one op forced to the CPU runs with exactly two transfers, both in the IR dump', async () => {
    const g = parseGraph(`graph g(%x: f32[67] @webgpu) -> (f32[67] @webgpu) {
  %0 = relu(%x) : f32[67] @webgpu
  %1 = transfer(%0) : f32[67] @cpu
  %2 = exp(%1) : f32[67] @cpu
  %3 = transfer(%2) : f32[67] @webgpu
  %4 = neg(%3) : f32[67] @webgpu
  %5 = mul(%4, %x) : f32[67] @webgpu
  return %5
}
`);
    const dumps: string[] = [];
    const compiled = compileSegmented(g, { printAfterAll: true, sink: (d) => dumps.push(d.text) });
    const finalIr = dumps.at(-1)!;
    expect(finalIr.match(/= transfer\(/g)).toHaveLength(2);
    expect(printGraph(compiled.graph)).toBe(finalIr);
    expect(compiled.transfers).toBe(2);
    expect(compiled.segments.map((s) => s.device)).toEqual(['webgpu', 'cpu', 'webgpu']);
    const session = await SegmentedSession.create(gpu(), compiled);
    try {
      const x = randomData('f32', [67], new Random(4));
      const got = await session.run({ x });
      expect(session.transfersMade).toBe(2);
      expectClose(got['5']!, runOnCpu(g, { x })['5']!, 1e-6, 1e-6);
    } finally {
      session.destroy();
    }
  });

  it('an op without a WebGPU kernel falls back to the CPU and the result is unchanged', async () => {
    // `neg` plays an op without a WebGPU kernel: placement moves it, and the run still matches.
    const g = parseGraph(`graph g(%x: f32[5,9] @webgpu) -> (f32[5,9] @webgpu) {
  %0 = sigmoid(%x) : f32[5,9] @webgpu
  %1 = neg(%0) : f32[5,9] @webgpu
  %2 = tanh(%1) : f32[5,9] @webgpu
  return %2
}
`);
    const placed = runPasses(g, [placeDevices], { hasGpuKernel: (op) => op !== 'neg' }).graph;
    const compiled = compileSegmented(placed, { pipeline: 'dce' });
    expect(compiled.transfers).toBe(2);
    const session = await SegmentedSession.create(gpu(), compiled);
    try {
      const x = randomData('f32', [5, 9], new Random(8));
      expectClose((await session.run({ x }))['2']!, runOnCpu(g, { x })['2']!, 1e-6, 1e-6);
    } finally {
      session.destroy();
    }
  });
});
