import { describe, expect, it } from 'vitest';
import { compile } from '../src/compiler.js';
import { trace } from '../src/frontend/trace/trace.js';
import type { Module } from '../src/frontend/torch/module.js';
import type { Tensor } from '../src/frontend/torch/tensor.js';
import { runOnCpu } from '../src/runtime/cpu/executor.js';
import { Session } from '../src/runtime/session.js';
import * as shufflenet from '../examples/shufflenet/unit.js';
import * as transformer from '../examples/transformer/block.js';
import { useGpu } from './helpers/gpu.js';
import { expectClose } from './helpers/compare.js';
import { expectRoundTrip } from './ir/roundtrip.js';

const blocks: [string, { model: Module; exampleInputs: Tensor[] }, string[]][] = [
  ['ShuffleNet-v2 units', shufflenet, ['conv2d', 'batch_norm', 'relu', 'channel_shuffle', 'concat', 'split']],
  ['transformer encoder block', transformer, ['layer_norm', 'matmul', 'softmax', 'gelu', 'add', 'split', 'transpose']],
];

describe('example blocks traced, compiled and run on WebGPU', () => {
  const gpu = useGpu();

  for (const [name, { model, exampleInputs }, ops] of blocks) {
    it(`${name} match the CPU reference within 1e-4`, async () => {
      const graph = trace(model, exampleInputs);
      const used = new Set(graph.nodes.map((n) => n.op));
      for (const op of ops) expect([op, used.has(op)]).toEqual([op, true]);
      expectRoundTrip(graph);
      const x = exampleInputs[0]!.data;
      const expected = runOnCpu(graph, { x }).y!;
      // The traced graph computes what the model computes eagerly.
      expectClose(expected, model.call(exampleInputs[0]!).data, 1e-5, 1e-5);
      const session = await Session.create(gpu(), compile(graph));
      try {
        const { y } = await session.run({ x });
        expectClose(y!, expected, 1e-4, 0);
      } finally {
        session.destroy();
      }
    });

    it(`${name} run eagerly on WebGPU match the CPU reference within 1e-4`, async () => {
      const x = exampleInputs[0]!;
      const expected = model.call(x).data;
      await model.to(gpu());
      try {
        const y = model.call(await x.to(gpu()));
        expect(y.deviceName).toMatch(/^webgpu:\d+$/);
        expectClose((await y.to('cpu')).data, expected, 1e-4, 0);
      } finally {
        await model.to('cpu');
      }
    });
  }
});
