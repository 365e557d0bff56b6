import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compiler.js';
import { parseGraph } from '../../src/ir/parser.js';
import { formatProfile, profileProgram } from '../../src/runtime/profiler.js';
import { measureDispatchFloor } from '../../src/runtime/dispatch-floor.js';
import { Random } from '../../src/frontend/torch/random.js';
import { useGpu } from '../helpers/gpu.js';
import { randomData } from '../helpers/compare.js';

describe('profiler', () => {
  const gpu = useGpu();

  it('gives every dispatch a device time from timestamp queries', async () => {
    if (!gpu().device.features.has('timestamp-query')) return;
    const g = parseGraph(`graph g(%a: f32[64,96] @webgpu, %b: f32[96,80] @webgpu) -> (f32[64] @webgpu) {
  %0 = matmul(%a, %b) : f32[64,80] @webgpu
  %1 = sum(%0) {axes = [0]} : f32[80] @webgpu
  %2 = transpose(%0) : f32[80,64] @webgpu
  %3 = relu(%2) : f32[80,64] @webgpu
  %4 = matmul(%0, %3) : f32[64,64] @webgpu
  %5 = sum(%4) {axes = [1]} : f32[64] @webgpu
  return %5
}
`);
    const program = compile(g, { pipeline: 'O0' });
    const rng = new Random(1);
    const p = await profileProgram(gpu(), program, { a: randomData('f32', [64, 96], rng), b: randomData('f32', [96, 80], rng) }, 3);
    expect(p.dispatches).toHaveLength(program.dispatches.length);
    for (const d of p.dispatches) expect(d.ms).toBeGreaterThan(0);
    expect(p.deviceMs).toBeCloseTo(p.dispatches.reduce((a, d) => a + d.ms, 0), 9);
    const text = formatProfile(p);
    for (const d of program.dispatches) expect(text).toContain(d.label);
    expect(text).toMatch(/total device time/);
  });

  it("measures the adapter's dispatch floor and shows its share of the device time", async () => {
    if (!gpu().device.features.has('timestamp-query')) return;
    // A measurement on a shared machine: a time, not asserted on (a preempted one-dispatch pass
    // can take longer than the 33-dispatch one, and the floor is then 0).
    const floor = await measureDispatchFloor(gpu(), 3);
    expect(Number.isFinite(floor) && floor >= 0).toBe(true);
    const dispatch = (label: string, ms: number) => ({ index: 0, label, kernel: 'k', ms });
    const text = formatProfile({ dispatches: [dispatch('a', 0.3), dispatch('b', 0.1)], deviceMs: 0.4, uploadMs: 0, readbackMs: 0, runs: 1, dispatchFloorMs: 0.05 });
    expect(text).toContain('dispatch floor: 0.050 ms a dispatch (an empty one, measured), 0.100 ms for these 2 (25% of the device time)');
  });
});
