import { describe, expect, it, vi } from 'vitest';
import * as kiln from '../../../src/index.js';
import { compileSegmented } from '../../../src/compiler.js';
import { SegmentedSession } from '../../../src/runtime/segmented.js';
import { Session } from '../../../src/runtime/session.js';
import { differentiate, gradName } from '../../../src/passes/autodiff/differentiate.js';
import { bindTraceValue, tracing } from '../../../src/frontend/torch/tensor.js';
import { gpuDevice, type Device } from '../../../src/ir/types.js';
import { expectClose } from '../../helpers/compare.js';
import { useTwoGpus } from './two-gpus.js';

const { nn } = kiln;

// Model parallel: a 2-stage MLP with stage 1 on webgpu:0 and stage 2 on webgpu:1 (two devices on
// one adapter), eagerly and traced, against the same model on one device. This file holds two
// devices, the least a split model needs.

/** Stage 1 then stage 2, the activation moved to `second` in between (as PyTorch's model parallel). */
class TwoStage extends nn.Module {
  stage1 = new nn.Sequential(new nn.Linear(8, 16), new nn.Tanh(), new nn.Linear(16, 16), new nn.ReLU());
  stage2 = new nn.Sequential(new nn.Linear(16, 12), new nn.Tanh(), new nn.Linear(12, 4));
  constructor(readonly second: 'webgpu:0' | 'webgpu:1') {
    super();
  }

  forward(x: kiln.Tensor): kiln.Tensor {
    return this.stage2.call(this.stage1.call(x).to(this.second, { nonBlocking: true }));
  }
}

/** Two models with the same initial weights: split across webgpu:0 and webgpu:1, and on webgpu:0 alone. */
async function twins(): Promise<{ split: TwoStage; single: TwoStage }> {
  kiln.manualSeed(7);
  const split = new TwoStage('webgpu:1');
  const single = new TwoStage('webgpu:0');
  await single.loadStateDict(split.stateDict());
  await split.stage1.to('webgpu:0');
  await split.stage2.to('webgpu:1');
  await single.to('webgpu:0');
  return { split, single };
}

async function hostValues(t: kiln.Tensor): Promise<kiln.TensorData> {
  return (await t.to('cpu')).data;
}

describe('model parallel across webgpu:0 and webgpu:1', () => {
  const gpus = useTwoGpus();

  it('each stage computes on its own device; the forward equals one device', async () => {
    const { split, single } = await twins();
    const x = kiln.randn([6, 8], { rng: new kiln.Random(1) });
    const h = split.stage1.call(await x.to('webgpu:0'));
    expect(h.device).toBe('webgpu:0');
    const moved = h.to('webgpu:1', { nonBlocking: true });
    expect(moved.device).toBe('webgpu:1');
    const y = split.stage2.call(moved);
    expect(y.device).toBe('webgpu:1');
    expectClose(await hostValues(y), await hostValues(single.call(await x.to('webgpu:0'))), 1e-6, 1e-6);
    // Non-blocking moves: from the host an upload; to the host refused (a readback must be awaited).
    const up = x.to('webgpu:1', { nonBlocking: true });
    expect(up.device).toBe('webgpu:1');
    expectClose(await hostValues(up), x.data, 0, 0);
    expect(() => h.to('cpu', { nonBlocking: true })).toThrow("to('cpu', { nonBlocking: true }): a move to the CPU is a readback, which must be awaited");
  });

  it('trains 50 steps to the weights one device reaches (within 1e-5)', async () => {
    const { split, single } = await twins();
    const rng = new kiln.Random(3);
    const x = kiln.randn([16, 8], { rng: rng });
    const target = kiln.randn([16, 4], { rng: rng });
    const run = async (model: TwoStage, outDevice: 'webgpu:0' | 'webgpu:1') => {
      const opt = new kiln.optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
      const [xb, yb] = [await x.to('webgpu:0'), await target.to(outDevice)];
      const losses: number[] = [];
      for (let step = 0; step < 50; step++) {
        opt.zeroGrad();
        const loss = kiln.mseLoss(model.call(xb), yb);
        await loss.backward();
        opt.step();
        if (step % 10 === 0) losses.push((await hostValues(loss)).data[0]!);
      }
      return losses;
    };
    const splitLosses = await run(split, 'webgpu:1');
    const singleLosses = await run(single, 'webgpu:0');
    expect(splitLosses.at(-1)!).toBeLessThan(splitLosses[0]! * 0.7);
    // A compiled step is for one device: a split model is refused, saying how to train it.
    await expect(kiln.compileTrainStep(split, (m, b) => kiln.mseLoss(m.call(b.x!), b.y!), new kiln.optim.SGD(split.parameters(), { lr: 0.1 }), { x, y: target }))
      .rejects.toThrow("compileTrainStep compiles a step for one device, but the model's parameters are on webgpu:0 and webgpu:1: train a model split across devices eagerly");
    expect(splitLosses).toEqual(splitLosses.map((l, i) => expect.closeTo(singleLosses[i]!, 5)));
    // Each parameter stayed on its stage's device and reached the same values.
    const a = split.namedParameters();
    const b = single.namedParameters();
    expect(a.map(([n, p]) => [n, p.device])).toEqual(b.map(([n]) => [n, n.startsWith('stage1') ? 'webgpu:0' : 'webgpu:1']));
    for (const [i, [name, p]] of a.entries()) {
      const want = await hostValues(b[i]![1]);
      const got = await hostValues(p);
      const worst = Math.max(...Array.from(got.data as Float32Array, (v, k) => Math.abs(v - (want.data as Float32Array)[k]!)));
      expect(worst, name).toBeLessThan(1e-5);
    }
  });

  it('traced, it is two segments joined by exactly one device-to-device transfer, and runs on both devices', async () => {
    const { split, single } = await twins();
    const x = await kiln.randn([6, 8], { rng: new kiln.Random(2) }).to('webgpu:0');
    const g = kiln.trace(split, [x]);
    const dumps: string[] = [];
    const compiled = compileSegmented(g, { printAfterAll: true, sink: (d) => dumps.push(d.text) });
    const finalIr = dumps.at(-1)!;
    // The activation crosses once; the stages' weights are constants placed on their device, not moved.
    expect(finalIr.match(/= transfer\(/g)).toHaveLength(1);
    expect(finalIr).toMatch(/= transfer\(%[\w.]+\) : f32\[6,16\] @webgpu:1\n/);
    expect(compiled.transfers).toBe(1);
    expect(compiled.segments.map((s) => (s.device === 'webgpu' ? `webgpu:${s.index}` : s.device))).toEqual(['webgpu:0', 'webgpu:1']);
    const session = await SegmentedSession.create(gpus(), compiled);
    try {
      const got = await session.run({ x: (await x.to('cpu')).data });
      expect(session.transfersMade).toBe(1);
      expectClose(got['y']!, await hostValues(single.call(x)), 1e-5, 1e-5);
      expectClose(got['y']!, kiln.runOnCpu(g, { x: (await x.to('cpu')).data })['y']!, 1e-5, 1e-5);
    } finally {
      session.destroy();
    }
    await expect(SegmentedSession.create(gpus()[0]!, compiled)).rejects.toThrow(/has a segment on webgpu:1, but 1 WebGPU device\(s\) were given/);
  });

  it('traced forward and backward run split across both devices and train 50 steps to the weights of one device', async () => {
    const { split, single } = await twins();
    const rng = new kiln.Random(4);
    const x = await kiln.randn([16, 8], { rng }).to('webgpu:0');
    const target = kiln.randn([16, 4], { rng });
    // The loss traced with the parameters as inputs, each on its stage's device, then differentiated.
    const g = new kiln.Graph('two_stage_step');
    const params = split.namedParameters();
    const irDevice = (t: kiln.Tensor): Device => gpuDevice(Number(t.device.slice('webgpu:'.length)));
    const xs = kiln.Tensor.symbolic(g, g.addInput('x', { dtype: 'f32', shape: [16, 8], device: 'webgpu' }), x);
    const ts = kiln.Tensor.symbolic(g, g.addInput('t', { dtype: 'f32', shape: [16, 4], device: 'webgpu:1' }), await target.to('webgpu:1'));
    for (const [path, p] of params) bindTraceValue(g, p, g.addInput(path, { dtype: p.dtype, shape: p.shape, device: irDevice(p) }));
    const outer = { ...tracing };
    let loss: kiln.Tensor;
    try {
      tracing.graph = g;
      loss = kiln.mseLoss(split.call(xs), ts);
    } finally {
      Object.assign(tracing, outer);
    }
    g.setOutputs([loss.value]);
    g.renameValue(loss.value, 'loss');
    const back = differentiate(g, { loss: 'loss', wrt: params.map(([path]) => path) });
    const dumps: string[] = [];
    const compiled = compileSegmented(back, { printAfterAll: true, sink: (d) => dumps.push(d.text) });
    // Forward: the activation to webgpu:1; backward: its gradient back to webgpu:0. Nothing else crosses.
    const transfers = dumps.at(-1)!.match(/= transfer\(.*/g)!;
    expect(transfers.map((t) => t.replace(/%[\w.]+/, '%v'))).toEqual(['= transfer(%v) : f32[16,16] @webgpu:1', '= transfer(%v) : f32[16,16] @webgpu']);
    const session = await SegmentedSession.create(gpus(), compiled);
    try {
      // 50 steps: forward and backward by the split program, the SGD update p -= lr * grad on the host.
      const lr = 0.05;
      let weights = await Promise.all(params.map(async ([path, p]) => [path, await hostValues(p)] as const));
      const feeds = { x: await hostValues(x), t: target.data };
      const opt = new kiln.optim.SGD(single.parameters(), { lr });
      const [xb, tb] = [x, await target.to('webgpu:0')];
      for (let step = 0; step < 50; step++) {
        const out = await session.run({ ...feeds, ...Object.fromEntries(weights) });
        // The same step on one device, eagerly; the first step's gradients must agree.
        opt.zeroGrad();
        await kiln.mseLoss(single.call(xb), tb).backward();
        if (step === 0) for (const [i, [path]] of params.entries()) expectClose(out[gradName(path)]!, await hostValues(single.parameters()[i]!.grad!), 1e-6, 1e-4);
        opt.step();
        weights = weights.map(([path, w]) => {
          const grad = out[gradName(path)]!.data as Float32Array;
          return [path, { ...w, data: Float32Array.from(w.data as Float32Array, (v, k) => Math.fround(v - Math.fround(lr * grad[k]!))) }] as const;
        });
      }
      expect(session.transfersMade).toBe(100);
      for (const [i, [path, w]] of weights.entries()) {
        const want = (await hostValues(single.parameters()[i]!)).data as Float32Array;
        const worst = Math.max(...Array.from(w.data as Float32Array, (v, k) => Math.abs(v - want[k]!)));
        expect(worst, path).toBeLessThan(1e-5);
      }
    } finally {
      session.destroy();
    }
  });

  it('segments on different devices whose inputs are ready run at the same time', async () => {
    const g = kiln.parseGraph(`graph g(%x: f32[4096] @webgpu) -> (f32[4096] @webgpu, f32[4096] @webgpu:1) {
  %a = tanh(%x) : f32[4096] @webgpu
  %t = transfer(%x) : f32[4096] @webgpu:1
  %b = exp(%t) : f32[4096] @webgpu:1
  return %a, %b
}
`);
    const compiled = compileSegmented(g);
    expect(compiled.segments.map((s) => (s.device === 'webgpu' ? s.index : s.device))).toEqual([0, 1]);
    const session = await SegmentedSession.create(gpus(), compiled);
    const events: string[] = [];
    const run = Session.prototype.run;
    const spy = vi.spyOn(Session.prototype, 'run').mockImplementation(async function (this: Session, ...args: Parameters<Session['run']>) {
      const which = this.program.inputs.length === 1 ? this.program.outputs[0]!.name : '?';
      events.push(`start ${which}`);
      try {
        return await run.apply(this, args);
      } finally {
        events.push(`end ${which}`);
      }
    });
    try {
      const x = kiln.randn([4096], { rng: new kiln.Random(8) }).data;
      const out = await session.run({ x });
      // Both started before either finished: the second device did not wait for the first.
      expect(events.slice(0, 2).sort()).toEqual(['start a', 'start b']);
      const want = kiln.runOnCpu(g, { x });
      expectClose(out['a']!, want['a']!, 1e-6, 1e-5);
      expectClose(out['b']!, want['b']!, 1e-6, 1e-5);
    } finally {
      spy.mockRestore();
      session.destroy();
    }
  });
});
