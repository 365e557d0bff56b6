import { describe, expect, it } from 'vitest';
import { compile } from '../../src/compiler.js';
import { fromArray, manualSeed, rand, randn, Random, type Tensor } from '../../src/frontend/torch/index.js';
import { trace } from '../../src/frontend/trace/trace.js';
import * as nn from '../../src/frontend/torch/nn.js';
import { Module } from '../../src/frontend/torch/module.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';
import { Session } from '../../src/runtime/session.js';
import { expectClose } from '../helpers/compare.js';
import { useDefaultGpu } from './default-gpu.js';

/** Gives a module's 1-D state (norm weights, biases, running statistics) random values, like trained ones. */
async function randomizeState(m: Module): Promise<void> {
  const rng = new Random(3);
  const state: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(m.stateDict())) {
    if (t.dtype !== 'f32') continue;
    const positive = k.endsWith('running_var') || (k.endsWith('weight') && t.shape.length === 1);
    state[k] = positive ? rand(t.shape, 0.5, 1.5, { rng }) : rand(t.shape, -0.5, 0.5, { rng });
  }
  await m.loadStateDict(state, { strict: false });
}

/** A module using ModuleList: applies each of its layers in turn and adds the input back. */
class Residuals extends Module {
  readonly blocks = this.registerModule('blocks', new nn.ModuleList([new nn.Linear(6, 6), new nn.GELU(), new nn.Linear(6, 6)]));
  forward(x: Tensor): Tensor {
    let h = x;
    for (const b of this.blocks) h = b.call(h);
    return h.add(x);
  }
}

const cases: [string, () => Module, () => Tensor][] = [
  ['Linear', () => new nn.Linear(7, 5), () => randn([3, 7])],
  ['Linear on a batch of sequences, no bias', () => new nn.Linear(7, 5, { bias: false }), () => randn([2, 3, 7])],
  ['Conv2d strided, padded', () => new nn.Conv2d(6, 4, 3, { stride: 2, padding: 1 }), () => randn([2, 6, 9, 9])],
  ['Conv2d depthwise', () => new nn.Conv2d(6, 6, 3, { padding: 1, groups: 6, bias: false }), () => randn([1, 6, 7, 5])],
  ['Conv2d dilated, grouped, asymmetric padding', () => new nn.Conv2d(4, 6, [3, 2], { padding: [2, 1], dilation: 2, groups: 2 }), () => randn([2, 4, 8, 7])],
  ["Conv2d padding 'same'", () => new nn.Conv2d(3, 5, 4, { padding: 'same' }), () => randn([1, 3, 6, 6])],
  ['BatchNorm2d', () => new nn.BatchNorm2d(5), () => randn([2, 5, 4, 3])],
  ['BatchNorm2d without affine', () => new nn.BatchNorm2d(3, { affine: false }), () => randn([2, 3, 5, 5])],
  ['LayerNorm', () => new nn.LayerNorm(6), () => randn([3, 4, 6])],
  ['LayerNorm over two dims, eps', () => new nn.LayerNorm([4, 6], { eps: 1e-3 }), () => randn([3, 4, 6])],
  ['LayerNorm without affine', () => new nn.LayerNorm(6, { elementwiseAffine: false }), () => randn([5, 6])],
  ['Embedding', () => new nn.Embedding(10, 6), () => fromArray([0, 3, 9, 1, 1, 7, 2, 5, 8, 4, 6, 0], [3, 4], { dtype: 'i32' })],
  ['ReLU', () => new nn.ReLU(), () => randn([3, 5, 7])],
  ['GELU', () => new nn.GELU(), () => randn([3, 5, 7])],
  ['GELU tanh', () => new nn.GELU({ approximate: 'tanh' }), () => randn([3, 5, 7])],
  ['SiLU', () => new nn.SiLU(), () => randn([3, 5, 7])],
  ['Sigmoid', () => new nn.Sigmoid(), () => randn([3, 5, 7])],
  ['Tanh', () => new nn.Tanh(), () => randn([3, 5, 7])],
  ['Hardswish', () => new nn.Hardswish(), () => randn([3, 5, 7]).mul(3)],
  ['MaxPool2d', () => new nn.MaxPool2d(3, { stride: 2, padding: 1 }), () => randn([2, 3, 9, 9])],
  ['MaxPool2d ceil mode', () => new nn.MaxPool2d(2, { ceilMode: true }), () => randn([1, 2, 7, 5])],
  ['AvgPool2d (countIncludePad)', () => new nn.AvgPool2d(3, { stride: 2, padding: 1 }), () => randn([2, 3, 9, 9])],
  ['AvgPool2d without padding counted', () => new nn.AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }), () => randn([2, 3, 9, 9])],
  ['AdaptiveAvgPool2d', () => new nn.AdaptiveAvgPool2d([3, 2]), () => randn([2, 3, 7, 5])],
  ['AdaptiveAvgPool2d to 1x1', () => new nn.AdaptiveAvgPool2d(1), () => randn([2, 3, 7, 5])],
  ['Flatten', () => new nn.Flatten(), () => randn([2, 3, 4, 5])],
  ['Flatten(0, 2)', () => new nn.Flatten(0, 2), () => randn([2, 3, 4, 5])],
  ['Dropout (eval) then ReLU', () => new nn.Sequential(new nn.Dropout(0.3), new nn.ReLU()), () => randn([4, 5])],
  ['Softmax', () => new nn.Softmax(1), () => randn([3, 5, 7])],
  ['ChannelShuffle', () => new nn.ChannelShuffle(3), () => randn([2, 6, 3, 3])],
  ['Sequential CNN', () => new nn.Sequential(
    new nn.Conv2d(3, 8, 3, { padding: 1 }), new nn.BatchNorm2d(8), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.AdaptiveAvgPool2d(1), new nn.Flatten(), new nn.Linear(8, 4), new nn.Softmax(-1),
  ), () => randn([2, 3, 9, 9])],
  ['ModuleList in a residual module', () => new Residuals(), () => randn([3, 6])],
];

describe('nn modules: eager on WebGPU = eager on the CPU = traced and compiled', () => {
  const gpu = useDefaultGpu();

  for (const [name, make, input] of cases) {
    it(name, async () => {
      manualSeed(5);
      const m = make().eval();
      await randomizeState(m);
      const x = input();
      const cpu = m.call(x).data;

      const g = trace(m, [x]);
      const out = g.outputs[0]!.name;
      expectClose(runOnCpu(g, { x: x.data })[out]!, cpu, 1e-5, 1e-5);
      const session = await Session.create(gpu(), compile(g));
      try {
        expectClose((await session.run({ x: x.data }))[out]!, cpu, 1e-4, 0);
      } finally {
        session.destroy();
      }

      await m.to('webgpu');
      const y = m.call(await x.to('webgpu'));
      expect(y.device).toBe('webgpu:0');
      expectClose((await y.to('cpu')).data, cpu, 1e-4, 0);
      await m.to('cpu');
      expect(m.parameters().every((p) => p.device === 'cpu')).toBe(true);
    });
  }
});
