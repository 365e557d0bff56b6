import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/index.js';
import { eagerCacheStats } from '../../src/frontend/torch/eager-ops.js';
import { EagerRunner } from '../../src/runtime/eager.js';
import { expectClose } from '../helpers/compare.js';
import { useDefaultGpu } from './default-gpu.js';

const { nn } = kiln;

/** Collects garbage and lets FinalizationRegistry callbacks run. */
async function collectGarbage(): Promise<void> {
  const v8 = await import('node:v8');
  const vm = await import('node:vm');
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('eager tensors on WebGPU', () => {
  const gpu = useDefaultGpu();

  it('computes on the device and reads back when moved to the CPU', async () => {
    const x = await kiln.tensor([1, 1, 2, 3]).to('webgpu');
    expect(x.device).toBe('webgpu:0');
    expect(x.deviceName).toBe('webgpu:0');
    const y = x.mul(2);
    expect(y.device).toBe('webgpu:0');
    expect((await y.to('cpu')).tolist()).toEqual([2, 2, 4, 6]);
  });

  it('matches the CPU on a chain of ops with broadcasting, reductions and shapes', async () => {
    const a = kiln.randn([3, 5, 7]);
    const b = kiln.randn([5, 1]);
    const run = (x: kiln.Tensor, y: kiln.Tensor) =>
      x.mul(y).sub(1.5).relu().softmax(-1).transpose(0, 2).reshape(7, -1).matmul(x.reshape(15, 7)).sum({ dim: 1, keepdim: true });
    const cpu = run(a, b);
    const onGpu = run(await a.to('webgpu'), await b.to('webgpu'));
    expectClose((await onGpu.to('cpu')).data, cpu.data, 1e-4, 1e-5);
  });

  it('runs multi-output ops (split, chunk) and aliasing ops (reshape, flatten) on the device', async () => {
    const x = kiln.arange(0, 12).reshape(3, 4).float();
    const g = await x.to('webgpu');
    const parts = g.split([1, 3], 1);
    expect(parts.map((p) => p.shape)).toEqual([[3, 1], [3, 3]]);
    expect((await parts[1]!.to('cpu')).tolist()).toEqual([[1, 2, 3], [5, 6, 7], [9, 10, 11]]);
    const flat = g.flatten();
    g.dispose(); // the flattened view keeps the shared buffer alive
    expect((await flat.mul(1).to('cpu')).tolist()).toEqual(Array.from({ length: 12 }, (_, i) => i));
  });

  it('factories place tensors on the default device once it is acquired', async () => {
    const a = kiln.tensor([[1, 2]], { device: 'webgpu' });
    const b = kiln.ones([1, 2], { device: 'webgpu:0' });
    expect([a.deviceName, b.deviceName]).toEqual(['webgpu:0', 'webgpu:0']);
    expect((await a.add(b).to('cpu')).tolist()).toEqual([[2, 3]]);
    expect(() => kiln.ones([1], { device: 'webgpu:99' })).toThrow(/there is no device webgpu:99: this machine has \d+ WebGPU device index/);
  });

  it('fails on operands from two devices with PyTorch\'s message, naming the op', async () => {
    const x = await kiln.tensor([1, 2]).to('webgpu');
    const y = kiln.tensor([3, 4]);
    expect(() => x.add(y)).toThrow('Expected all tensors to be on the same device, but found at least two devices, webgpu:0 and cpu! (when checking arguments for add)');
    expect(() => y.matmul(x.reshape(2, 1))).toThrow('Expected all tensors to be on the same device, but found at least two devices, cpu and webgpu:0! (when checking arguments for matmul)');
  });

  it('tolist() on a webgpu tensor says to await t.to(\'cpu\')', async () => {
    const x = await kiln.tensor([1, 2]).to('webgpu');
    expect(() => x.tolist()).toThrow(/tolist\(\) needs the values on the host, but this tensor is on webgpu:0.*await t\.to\('cpu'\)/);
    expect(() => x.data).toThrow(/await t\.to\('cpu'\)/);
  });

  it('awaiting a move that needs no copy is harmless', async () => {
    const c = kiln.tensor([1, 2]);
    expect(await c.to('cpu')).toBe(c);
    const g = await c.to('webgpu');
    expect(await g.to('webgpu')).toBe(g);
    expect(await g.to(gpu())).toBe(g);
    expect(await g.to({ dtype: 'float32' })).toBe(g);
  });

  it('a repeated op compiles nothing: one Program per op signature, pipelines cached by WGSL', async () => {
    const x = await kiln.randn([5, 6]).to('webgpu');
    const y = await kiln.randn([6]).to('webgpu');
    const once = x.add(y).relu();
    await once.to('cpu');
    const runner = EagerRunner.for(gpu());
    const before = { ...eagerCacheStats, ...runner.stats, pipelines: gpu().counters.computePipelines, modules: gpu().counters.shaderModules };
    for (let i = 0; i < 5; i++) x.add(y).relu();
    await (await x.add(y).relu().to('cpu'));
    const after = runner.stats;
    expect(eagerCacheStats.programsGenerated).toBe(before.programsGenerated);
    expect(eagerCacheStats.hits).toBe(before.hits + 12);
    expect(after.programsPrepared).toBe(before.programsPrepared);
    expect(after.pipelinesCreated).toBe(before.pipelinesCreated);
    expect(gpu().counters.computePipelines).toBe(before.pipelines);
    expect(gpu().counters.shaderModules).toBe(before.modules);
    expect(after.runs).toBe(before.runs + 12);
    // A new shape of the same form (rank, dtypes, which extents are 1) runs the same programs.
    const z = await kiln.randn([7, 6]).to('webgpu');
    await z.add(y).relu().to('cpu');
    expect(eagerCacheStats.programsGenerated).toBe(before.programsGenerated);
    expect(gpu().counters.computePipelines).toBe(before.pipelines);
  });

  it('scalars become constants of the tensor\'s dtype on its device', async () => {
    const i = await kiln.tensor([1, 2, 3], { dtype: 'int32' }).to('webgpu');
    const r = i.mul(3).sub(1);
    expect(r.dtype).toBe('i32');
    expect((await r.to('cpu')).tolist()).toEqual([2, 5, 8]);
    expect(() => i.mul(0.5)).toThrow(/scalar 0\.5 is not an integer, but the tensor is int32/);
    const mask = (await kiln.tensor([1, 5, 3]).to('webgpu')).gt(2);
    expect(mask.dtype).toBe('bool');
    const picked = kiln.where(mask, 1, 0);
    expect(picked.dtype).toBe('i32');
    expect((await picked.to('cpu')).tolist()).toEqual([0, 1, 1]);
    expect((await kiln.where(mask, r.float(), 0.5).to('cpu')).tolist()).toEqual([0.5, 5, 8]);
  });

  it('shape errors are the same as on the CPU', async () => {
    const a = await kiln.randn([2, 3]).to('webgpu');
    expect(() => a.matmul(a)).toThrow(/inner dimensions differ: f32\[2,3\] x f32\[2,3\]/);
  });

  it('frees device buffers on dispose() and when tensors are garbage-collected', async () => {
    const runner = EagerRunner.for(gpu());
    await runner.flush();
    await collectGarbage(); // what earlier tests dropped
    const start = runner.stats.liveBuffers;
    const x = await kiln.randn([64]).to('webgpu');
    const y = x.mul(2);
    expect(runner.stats.liveBuffers).toBe(start + 2);
    y.dispose();
    y.dispose(); // idempotent
    expect(runner.stats.liveBuffers).toBe(start + 1);
    expect(() => y.add(1)).toThrow(/was disposed/);
    x.dispose();
    expect(runner.stats.liveBuffers).toBe(start);

    // Tensors dropped without dispose(): their buffers go when the collector finds them.
    await (async () => {
      for (let k = 0; k < 20; k++) (await kiln.ones([256]).to('webgpu')).relu();
    })();
    expect(runner.stats.liveBuffers).toBe(start + 40);
    await collectGarbage();
    expect(runner.stats.liveBuffers).toBe(start);
  });

  it('float16: half() and to({dtype}) compute on the device where it has shader-f16', async (ctx) => {
    if (!gpu().features.has('shader-f16')) ctx.skip('this adapter has no shader-f16');
    const x = kiln.tensor([0.1, 1, 2.5, -3]);
    const h = (await x.to('webgpu')).half();
    expect(h.dtype).toBe('f16');
    const y = await h.mul(2).add(1).to('cpu');
    expect(y.dtype).toBe('f16');
    // 0.1 is 0.0999755859375 in f16; times 2 is exact; plus 1 is 1.199951171875, which lies
    // 0.75 of the way between the f16 neighbours 1.19921875 and 1.2001953125 (spacing 2^-10).
    expect(y.tolist()).toEqual([1.2001953125, 3, 6, -5]);
    const viaTo = await x.to({ device: 'webgpu', dtype: 'float16' });
    expect((await viaTo.float().to('cpu')).tolist()).toEqual([0.0999755859375, 1, 2.5, -3]);
    // Computed f16 (no host copy) converts on the device.
    const computed = h.mul(1).float();
    expect((await computed.to('cpu')).dtype).toBe('f32');
  });

  it('a float16 op on the CPU is refused with a clear error', () => {
    const h = kiln.tensor([1, 2]).half();
    expect(h.dtype).toBe('f16');
    expect(h.tolist()).toEqual([1, 2]);
    expect(() => h.add(h)).toThrow(/add on float16 tensors is not supported on the CPU yet.*await t\.to\('webgpu'\)/);
    // Data movement is exact on raw bits, so it works.
    expect(h.reshape(2, 1).tolist()).toEqual([[1], [2]]);
  });

  it('module.to moves every parameter and buffer; module.half() converts floats only', async () => {
    kiln.manualSeed(2);
    const m = new nn.Sequential(new nn.Conv2d(3, 4, 3), new nn.BatchNorm2d(4), new nn.ReLU()).eval();
    const conv = m.at(0) as InstanceType<typeof nn.Conv2d>;
    const weight = conv.weight;
    expect(await m.to('webgpu')).toBe(m);
    expect(conv.weight).toBe(weight); // moved in place, so references stay valid
    expect([...m.parameters(), ...m.buffers()].every((t) => t.deviceName === 'webgpu:0')).toBe(true);
    if (gpu().features.has('shader-f16')) {
      m.half();
      expect(m.parameters().every((p) => p.dtype === 'f16')).toBe(true);
      const bn = m.at(1) as InstanceType<typeof nn.BatchNorm2d>;
      expect(bn.runningVar!.dtype).toBe('f16');
      expect(bn.numBatchesTracked!.dtype).toBe('i32');
      const y = m.call(await kiln.randn([1, 3, 5, 5]).to({ device: 'webgpu', dtype: 'f16' }));
      expect(y.dtype).toBe('f16');
      m.float();
    }
    await m.to('cpu');
    expect(m.parameters().every((p) => p.device === 'cpu' && p.dtype === 'f32')).toBe(true);
  });

  it('traces a model on webgpu; parameters and inputs on two devices fail like eager ops', async () => {
    kiln.manualSeed(3);
    const m = new nn.Sequential(new nn.Linear(4, 3), new nn.GELU());
    const x = kiln.randn([2, 4]);
    const expected = m.call(x).data;
    const gx = await x.to('webgpu');
    expect(() => kiln.trace(m, [gx])).toThrow('Expected all tensors to be on the same device, but found at least two devices, webgpu:0 and cpu! (when checking arguments for matmul)');
    await m.to('webgpu');
    expect(() => kiln.trace(m, [x])).toThrow(/found at least two devices, cpu and webgpu:0/);
    const g = kiln.trace(m, [gx]);
    expect(g.values().every((v) => v.type.device === 'webgpu')).toBe(true);
    expectClose(kiln.runOnCpu(g, { x: x.data }).y!, expected, 1e-6, 0);
    // A parameter computed on the device has no host copy to embed.
    const lin = m.at(0) as InstanceType<typeof nn.Linear>;
    lin.weight.setData(lin.weight.mul(1));
    lin.weight.paramName = undefined;
    expect(() => kiln.trace(m, [gx])).toThrow(/parameter '0.weight' exists only on webgpu:0.*await model\.to\('cpu'\)/);
  });

  it('saves a webgpu model\'s state to safetensors and loads it into a CPU model', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'kiln-'));
    try {
      kiln.manualSeed(4);
      const a = new nn.Sequential(new nn.Linear(3, 2), new nn.LayerNorm(2));
      await a.to('webgpu');
      // Computed on the device: saving reads it back.
      const lin = a.at(0) as InstanceType<typeof nn.Linear>;
      lin.bias!.setData(lin.bias!.add(1));
      await kiln.saveSafetensors(a.stateDict(), join(dir, 'm.safetensors'));
      kiln.manualSeed(99);
      const b = new nn.Sequential(new nn.Linear(3, 2), new nn.LayerNorm(2));
      await b.loadStateDict(await kiln.loadSafetensors(join(dir, 'm.safetensors')));
      const x = kiln.randn([4, 3]);
      const ya = await a.call(await x.to('webgpu')).to('cpu');
      expectClose(b.call(x).data, ya.data, 1e-5, 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('kiln.webgpu', () => {
  it('reports availability and lists adapters by name', async () => {
    expect(await kiln.webgpu.isAvailable()).toBe(true);
    const list = await kiln.webgpu.devices();
    expect(list.length).toBeGreaterThan(0);
    for (const a of list) expect(a.name.length).toBeGreaterThan(0);
  });

  it('a factory on webgpu with no device acquired acquires it; ops wait for it', async () => {
    kiln.webgpu.shutdown();
    const t = kiln.tensor([1, 2], { device: 'webgpu' });
    expect([t.isPending, t.deviceName]).toEqual([true, 'webgpu:0']);
    expect((await t.mul(3).to('cpu')).tolist()).toEqual([3, 6]);
    kiln.webgpu.shutdown();
  });
});
