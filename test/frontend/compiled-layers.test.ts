import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/index.js';
import { useDefaultGpu } from './default-gpu.js';

// The layers users compile ahead of time: each traced (outputs per tensor returned), compiled to
// one WebGPU program and run in a Session, giving what the layer computes eagerly on the CPU
// (itself checked against outside references in the layers' own tests).

const { nn } = kiln;

/** Traces `m` on `inputs`, compiles, runs on WebGPU and compares every output with the eager CPU result. */
async function compiledMatchesEager(gpu: kiln.GpuDevice, m: kiln.nn.AnyModule, inputs: kiln.Tensor[], eager: kiln.Tensor[], tol = 2e-5): Promise<number> {
  const graph = kiln.trace(m, inputs);
  const program = kiln.compile(graph);
  const session = await kiln.Session.create(gpu, program);
  try {
    const out = await session.run(Object.fromEntries(graph.inputs.map((v, i) => [v.name, inputs[i]!.data])));
    graph.outputs.forEach((v, i) => {
      const [got, want] = [Array.from(out[v.name]!.data as Float32Array), Array.from(eager[i]!.data.data as Float32Array)];
      expect(got, v.name).toHaveLength(want.length);
      got.forEach((g, k) => expect(Math.abs(g - want[k]!), `${v.name}[${k}]`).toBeLessThanOrEqual(tol * (1 + Math.abs(want[k]!))));
    });
    return program.dispatches.length;
  } finally {
    session.destroy();
  }
}

describe('new layers compile to WebGPU programs', () => {
  const gpu = useDefaultGpu();

  it('a bidirectional 2-layer LSTM and a GRU: output and final states', async () => {
    kiln.manualSeed(21);
    const lstm = new nn.LSTM(3, 4, { numLayers: 2, bidirectional: true }).eval();
    const x = kiln.randn([5, 2, 3]);
    const [y, [h, c]] = lstm.call(x);
    expect(await compiledMatchesEager(gpu(), lstm, [x], [y, h, c])).toBeGreaterThan(0);
    const gru = new nn.GRU(3, 4, { batchFirst: true }).eval();
    const xb = kiln.randn([2, 6, 3]);
    const [yg, hg] = gru.call(xb);
    await compiledMatchesEager(gpu(), gru, [xb], [yg, hg]);
  });

  it('nn.Transformer with masks, and the activations, losses and padding of torch.nn', async () => {
    kiln.manualSeed(22);
    const model = new nn.Transformer({ dModel: 8, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 16, batchFirst: true, activation: 'gelu' }).eval();
    class Seq2Seq extends nn.Module {
      forward(src: kiln.Tensor, tgt: kiln.Tensor): kiln.Tensor { return model.call(src, tgt, { tgtIsCausal: true }); }
    }
    const [src, tgt] = [kiln.randn([2, 5, 8]), kiln.randn([2, 3, 8])];
    await compiledMatchesEager(gpu(), new Seq2Seq(), [src, tgt], [new Seq2Seq().call(src, tgt)], 1e-4);

    class Mixed extends nn.Module {
      forward(x: kiln.Tensor): kiln.Tensor {
        const a = F.mish(x).add(F.selu(x)).add(F.softplus(x, 2, 5)).add(x.log1p().abs()).add(x.expm1());
        const padded = F.pad(a.reshape([1, 2, 12]), [2, 1], 'reflect');
        return F.binaryCrossEntropyWithLogits(padded, padded.sigmoid(), { reduction: 'none' }).add(F.smoothL1Loss(padded, padded.flip(-1), { reduction: 'none' }));
      }
    }
    const F = nn.functional;
    const x = kiln.rand([24], 0.1, 2);
    await compiledMatchesEager(gpu(), new Mixed(), [x], [new Mixed().call(x)]);
  });
});
