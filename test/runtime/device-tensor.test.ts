import { describe, expect, it } from 'vitest';
import { parseGraph } from '../../src/ir/parser.js';
import { instantiateGraph } from '../../src/ir/instantiate.js';
import { tensorData, type TensorData } from '../../src/ir/tensor-data.js';
import { compile } from '../../src/compiler.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';
import { Session } from '../../src/runtime/session.js';
import { DeviceTensor } from '../../src/runtime/device-tensor.js';
import { Random } from '../../src/frontend/torch/random.js';
import { useGpu } from '../helpers/gpu.js';
import { expectClose } from '../helpers/compare.js';
import { recurrenceStep } from '../helpers/recurrence.js';

// Outputs kept on the device (RunOptions.keep) and fed back as inputs: each step's result is the
// CPU reference's, chained on the host.

const rng = new Random(7);
const values = (n: number) => Array.from({ length: n }, () => rng.normal());

/** A recurrence: h' = tanh(h W + x), and a second output read back each step. */
const STEP = recurrenceStep(7, true);

/** A cache growing by a row a step (a decoder's keys), compiled once for every length. */
const GROW = parseGraph(`graph grow(%past: f32[1,2,T,4] @webgpu, %x: f32[1,2,1,4] @webgpu) -> (f32[1,2,"T+1",4] @webgpu, f32[1,2,"T+1",4] @webgpu) sizes(T: [1, 16]) {
  %present = concat(%past, %x) {axis = 2} : f32[1,2,"T+1",4] @webgpu
  %y = tanh(%present) : f32[1,2,"T+1",4] @webgpu
  return %present, %y
}
`);

const data = (shape: number[]) => tensorData('f32', shape, values(shape.reduce((a, b) => a * b, 1)));

describe('outputs kept on the device', () => {
  const gpu = useGpu();

  it('feed later runs without a trip through the host, as the host chain computes', async () => {
    const session = await Session.create(gpu(), compile(STEP));
    const [n, d] = STEP.outputs.map((o) => o.name) as [string, string];
    try {
      let h: TensorData | DeviceTensor = data([2, 8]);
      let ref = h as TensorData;
      const submits = session.stats.submits;
      for (let step = 0; step < 5; step++) {
        const x = data([2, 8]);
        const want = runOnCpu(STEP, { h: ref, x });
        const out = await session.run({ h, x }, { keep: [n] });
        const kept = out[n]!;
        expect(kept).toBeInstanceOf(DeviceTensor);
        expect(out[d]).not.toBeInstanceOf(DeviceTensor);
        expectClose(out[d] as TensorData, want[d]!, 1e-5, 1e-4);
        if (h instanceof DeviceTensor) h.destroy();
        h = kept as DeviceTensor;
        ref = want[n]!;
      }
      expect(session.stats.submits - submits).toBe(5);
      expectClose(await (h as DeviceTensor).read(), ref, 1e-5, 1e-4);
      // A kept tensor read twice gives the same values; destroyed, it is refused.
      const again = await (h as DeviceTensor).read();
      expectClose(again, ref, 1e-5, 1e-4);
      (h as DeviceTensor).destroy();
      await expect((h as DeviceTensor).read()).rejects.toThrow(/destroyed/);
    } finally {
      session.destroy();
    }
  });

  it('grow a cache across sizes of one program, each step fed the last one kept', async () => {
    const session = await Session.create(gpu(), compile(GROW));
    try {
      let past: TensorData | DeviceTensor = data([1, 2, 1, 4]);
      let ref = past as TensorData;
      for (let t = 1; t <= 6; t++) {
        const x = data([1, 2, 1, 4]);
        const want = runOnCpu(instantiateGraph(GROW, { T: t }), { past: ref, x });
        const out = await session.run({ past, x }, { keep: ['present'] });
        const present = out['present'] as DeviceTensor;
        expect(present.shape).toEqual([1, 2, t + 1, 4]);
        expectClose(out['y'] as TensorData, want['y']!, 1e-6, 1e-5);
        expectClose(await present.read(), want['present']!, 0, 0);
        if (past instanceof DeviceTensor) past.destroy();
        past = present;
        ref = want['present']!;
      }
      (past as DeviceTensor).destroy();
    } finally {
      session.destroy();
    }
  });

  it('fill staged inputs, and keep every output with none read back', async () => {
    const session = await Session.create(gpu(), compile(STEP), { inputSlots: 2 });
    try {
      const [n, d] = STEP.outputs.map((o) => o.name) as [string, string];
      const h0 = data([2, 8]);
      const x = data([2, 8]);
      const first = await session.run({ h: h0, x }, { keep: [n, d] });
      expect(Object.keys(first).sort()).toEqual([n, d].sort());
      const staged = session.stage({ h: first[n] as DeviceTensor, x });
      const second = await session.run(staged);
      const want = runOnCpu(STEP, { h: runOnCpu(STEP, { h: h0, x })[n]!, x });
      expectClose(second[n] as TensorData, want[n]!, 1e-5, 1e-4);
      for (const t of Object.values(first)) (t as DeviceTensor).destroy();
    } finally {
      session.destroy();
    }
  });

  it('refuse what cannot be kept or fed, naming it', async () => {
    const session = await Session.create(gpu(), compile(STEP));
    const grow = await Session.create(gpu(), compile(GROW));
    const [n, d] = STEP.outputs.map((o) => o.name) as [string, string];
    try {
      const x = data([2, 8]);
      await expect(session.run({ h: x, x }, { keep: ['nope'] })).rejects.toThrow(/no output\(s\) 'nope'/);
      await expect(session.run({ h: x, x }, { outputs: [d], keep: [n, d] })).rejects.toThrow(new RegExp(`'${d}' asked both read back \\(outputs\\) and kept`));
      const kept = (await session.run({ h: x, x }, { keep: [n] }))[n] as DeviceTensor;
      // Its shape is checked against the input's, as host data's is.
      await expect(grow.run({ past: kept, x: data([1, 2, 1, 4]) })).rejects.toThrow(/input 'past'/);
      // Destroyed after the run was asked for but before it starts (behind a queued run): the run fails, naming the input.
      const ahead = session.run({ h: x, x });
      const late = session.run({ h: kept, x });
      kept.destroy();
      await ahead;
      await expect(late).rejects.toThrow(/input 'h': its device tensor \(f32\[2,8\]\) was destroyed/);
      await expect(session.run({ h: kept, x })).rejects.toThrow(/input 'h': its device tensor \(f32\[2,8\]\) was destroyed/);
      // The session runs on.
      expectClose((await session.run({ h: x, x }))[n]!, runOnCpu(STEP, { h: x, x })[n]!, 1e-5, 1e-4);
    } finally {
      session.destroy();
      grow.destroy();
    }
  });
});
