import { describe, expect, it } from 'vitest';
import { compile } from '../src/compiler.js';
import { trace } from '../src/frontend/trace/trace.js';
import { runOnCpu } from '../src/runtime/cpu/executor.js';
import { Session } from '../src/runtime/session.js';
import { exampleInputs, model } from '../examples/mlp/model.js';
import { useGpu } from './helpers/gpu.js';
import { expectClose } from './helpers/compare.js';
import { expectRoundTrip } from './ir/roundtrip.js';

describe('examples/mlp on WebGPU', () => {
  const gpu = useGpu();

  it('agrees with the CPU reference within 1e-5 and reuses everything across runs', async () => {
    const graph = trace(model, exampleInputs);
    expectRoundTrip(graph);
    const session = await Session.create(gpu(), compile(graph));
    try {
      const x = exampleInputs[0]!.data;
      const expected = runOnCpu(graph, { x }).y!;
      const first = await session.run({ x });
      expectClose(first.y!, expected, 1e-5, 0);
      const before = { ...session.stats };
      for (let i = 0; i < 10; i++) expectClose((await session.run({ x })).y!, expected, 1e-5, 0);
      const after = session.stats;
      // Nothing is compiled, created or uploaded by a run: only the run and submit counters move.
      expect(after.pipelinesCreated).toBe(before.pipelinesCreated);
      expect(after.shaderModulesCreated).toBe(before.shaderModulesCreated);
      expect(after.buffersCreated).toBe(before.buffersCreated);
      expect(after.bindGroupsCreated).toBe(before.bindGroupsCreated);
      expect(after.weightUploads).toBe(before.weightUploads);
      expect(after.weightBytesUploaded).toBe(before.weightBytesUploaded);
      expect(after.runs).toBe(before.runs + 10);
      expect(after.submits).toBe(before.submits + 10);
      expect(before.pipelinesCreated).toBeGreaterThan(0);
    } finally {
      session.destroy();
    }
  });
});
