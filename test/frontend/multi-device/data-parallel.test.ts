import { describe, expect, it } from 'vitest';
import * as kiln from '../../../src/index.js';
import { expectClose } from '../../helpers/compare.js';
import { useTwoGpus } from './two-gpus.js';

const { nn } = kiln;

// nn.DataParallel over webgpu:0 and webgpu:1 (two devices on one adapter) against the same
// module on webgpu:0 alone: the same outputs, and trained, the same weights.

function mlp(): kiln.nn.Sequential {
  return new nn.Sequential(new nn.Linear(8, 16), new nn.Tanh(), new nn.Linear(16, 3));
}

/** Two MLPs with the same weights, both on webgpu:0. */
async function twins(): Promise<[kiln.nn.Sequential, kiln.nn.Sequential]> {
  kiln.manualSeed(11);
  const a = mlp();
  const b = mlp();
  await b.loadStateDict(a.stateDict());
  await a.to('webgpu:0');
  await b.to('webgpu:0');
  return [a, b];
}

const host = async (t: kiln.Tensor) => (await t.to('cpu')).data;

describe('nn.DataParallel across webgpu:0 and webgpu:1', () => {
  useTwoGpus();

  it('splits the batch, runs a replica per device and gathers the outputs of one device', async () => {
    const [model, same] = await twins();
    const dp = new nn.DataParallel(model, { deviceIds: [0, 1] });
    expect(Object.keys(dp.stateDict())).toEqual(['module.0.weight', 'module.0.bias', 'module.2.weight', 'module.2.bias']);
    expect(dp.parameters()).toEqual(model.parameters());
    // 9 rows: chunks of 5 and 4; inputs on the CPU or on the first device.
    const x = kiln.randn([9, 8], { rng: new kiln.Random(5) });
    const want = await host(same.call(await x.to('webgpu:0')));
    for (const input of [x, await x.to('webgpu:0')]) {
      const y = dp.call(input);
      expect([y.device, y.shape]).toEqual(['webgpu:0', [9, 3]]);
      expectClose(await host(y), want, 1e-5, 1e-5);
    }
    // Gathered on webgpu:1 instead.
    const y1 = new nn.DataParallel(model, { deviceIds: ['webgpu:0', 'webgpu:1'], outputDevice: 1 }).call(x);
    expect(y1.device).toBe('webgpu:1');
    expectClose(await host(y1), want, 1e-5, 1e-5);
  });

  it('splits along dim; each replica computes on its own device with its copy of the parameters', async () => {
    const seen: [string, readonly number[]][] = [];
    class Probe extends nn.Module {
      scale = nn.Parameter(kiln.tensor([[0.5], [2], [-1]]));
      forward(x: kiln.Tensor): kiln.Tensor {
        const y = x.tanh().mul(this.scale);
        seen.push([y.device, y.shape]);
        return y;
      }
    }
    const probe = await new Probe().to('webgpu:0');
    const x = kiln.randn([3, 7], { rng: new kiln.Random(6) });
    const y = new nn.DataParallel(probe, { deviceIds: [0, 1], dim: 1 }).call(x);
    expect(seen).toEqual([['webgpu:0', [3, 4]], ['webgpu:1', [3, 3]]]);
    expect(y.shape).toEqual([3, 7]);
    expectClose(await host(y), x.tanh().mul(kiln.tensor([[0.5], [2], [-1]])).data, 1e-6, 1e-6);
  });

  it('trained 50 steps reaches the weights of one device (within 1e-5); gradients land on the primary copy', async () => {
    const [model, same] = await twins();
    const dp = new nn.DataParallel(model, { deviceIds: [0, 1] });
    const rng = new kiln.Random(9);
    const x = await kiln.randn([12, 8], { rng }).to('webgpu:0');
    const y = await kiln.randn([12, 3], { rng }).to('webgpu:0');
    const train = async (net: kiln.nn.Module, params: kiln.Tensor[]) => {
      const opt = new kiln.optim.SGD(params, { lr: 0.05, momentum: 0.9 });
      const losses: number[] = [];
      for (let step = 0; step < 50; step++) {
        opt.zeroGrad();
        const loss = kiln.mseLoss(net.call(x), y);
        await loss.backward();
        if (step === 0) expect(params.map((p) => p.grad?.device)).toEqual(params.map(() => 'webgpu:0'));
        opt.step();
        if (step % 10 === 0) losses.push((await host(loss)).data[0]!);
      }
      return losses;
    };
    const dpLosses = await train(dp, model.parameters());
    const oneLosses = await train(same, same.parameters());
    expect(dpLosses.at(-1)!).toBeLessThan(dpLosses[0]! * 0.7);
    expect(dpLosses).toEqual(oneLosses.map((l) => expect.closeTo(l, 5)));
    const a = model.namedParameters();
    const b = same.namedParameters();
    for (const [i, [name, p]] of a.entries()) {
      expect(p.device).toBe('webgpu:0');
      const got = await host(p);
      const want = await host(b[i]![1]);
      const worst = Math.max(...Array.from(got.data as Float32Array, (v, k) => Math.abs(v - (want.data as Float32Array)[k]!)));
      expect(worst, name).toBeLessThan(1e-5);
    }
  });

  it('fails clearly: a batch smaller than the devices, a device that does not exist, a module elsewhere', async () => {
    const [model] = await twins();
    const dp = new nn.DataParallel(model, { deviceIds: [0, 1] });
    expect(() => dp.call(kiln.randn([1, 8]))).toThrow(
      'DataParallel: the batch (1 along dim 0) is smaller than the number of devices (2: webgpu:0, webgpu:1); give each device at least one sample, or use fewer deviceIds',
    );
    const count = await kiln.webgpu.deviceCount();
    expect(() => new nn.DataParallel(model, { deviceIds: [0, count] })).toThrow(`DataParallel: there is no device webgpu:${count}: this machine has ${count} WebGPU device index(es)`);
    expect(() => new nn.DataParallel(model, { deviceIds: [0, 1], outputDevice: count + 3 })).toThrow(`there is no device webgpu:${count + 3}`);
    expect(() => new nn.DataParallel(model, { deviceIds: [0, -1] })).toThrow('a device index is a non-negative integer, got -1');
    expect(() => new nn.DataParallel(model, { deviceIds: ['cuda:1' as 'webgpu:1'] })).toThrow("deviceIds takes device indices (0, 1, ...) or 'webgpu:N', got 'cuda:1'");
    expect(() => new nn.DataParallel(model, { deviceIds: [1, 1] })).toThrow('deviceIds lists a device twice');
    expect(() => new nn.DataParallel(model, { deviceIds: [1, 0] }).call(kiln.randn([4, 8]))).toThrow(
      /the module's parameters and buffers must be on webgpu:1 \(deviceIds\[0\]\), but '0.weight' is on webgpu:0/,
    );
    const bn = await new nn.Sequential(new nn.Linear(8, 4), new nn.BatchNorm1d(4)).to('webgpu:0');
    expect(() => new nn.DataParallel(bn, { deviceIds: [0, 1] }).call(kiln.randn([4, 8]))).toThrow(/training a module with buffers .* is not supported; call eval\(\) on it/);
    // In eval mode its buffers are copied to each replica like the parameters.
    bn.eval();
    const x = kiln.randn([4, 8], { rng: new kiln.Random(2) });
    expectClose(await host(new nn.DataParallel(bn, { deviceIds: [0, 1] }).call(x)), await host(bn.call(await x.to('webgpu:0'))), 1e-5, 1e-5);
  });
});
