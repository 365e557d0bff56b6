import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/index.js';

// The parts of nn.Module's API PyTorch code leans on besides forward: print(model), forward
// hooks and pre-hooks (reading features, rewriting inputs), and requires_grad_ for freezing.

const { nn } = kiln;

describe('nn.Module printing, hooks and freezing', () => {
  it('prints as PyTorch prints the same model', () => {
    const model = new nn.Sequential(
      new nn.Conv2d(3, 8, 3, { stride: 2, padding: 1 }),
      new nn.BatchNorm2d(8),
      new nn.ReLU(),
      new nn.Sequential(new nn.Linear(8, 2), new nn.Dropout(0.1)),
      new nn.LayerNorm(16),
      new nn.Embedding(10, 3),
      new nn.Linear(3, 1, { bias: false }),
    );
    // A module whose forward returns a tuple lives in a ModuleList (Sequential chains tensors).
    const rnns = new nn.ModuleList<kiln.nn.AnyModule>([new nn.LSTM(4, 8, { numLayers: 2, batchFirst: true }), new nn.GRU(3, 5, { bidirectional: true, bias: false })]);
    // PyTorch 2's repr of the same layers, character for character.
    expect(String(model)).toBe([
      'Sequential(',
      '  (0): Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))',
      '  (1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)',
      '  (2): ReLU()',
      '  (3): Sequential(',
      '    (0): Linear(in_features=8, out_features=2, bias=True)',
      '    (1): Dropout(p=0.1, inplace=False)',
      '  )',
      '  (4): LayerNorm((16,), eps=1e-05, elementwise_affine=True)',
      '  (5): Embedding(10, 3)',
      '  (6): Linear(in_features=3, out_features=1, bias=False)',
      ')',
    ].join('\n'));
    expect(String(rnns)).toBe('ModuleList(\n  (0): LSTM(4, 8, num_layers=2, batch_first=True)\n  (1): GRU(3, 5, bias=False, bidirectional=True)\n)');
  });

  it('runs forward hooks and pre-hooks, lets them replace inputs and outputs, and removes them', () => {
    const first = new nn.Linear(2, 2);
    const model = new nn.Sequential(first, new nn.ReLU());
    const seen: number[][] = [];
    // A feature hook on a child fires inside the parent's forward.
    const features = first.registerForwardHook((m, inputs, output) => {
      expect(m).toBe(first);
      expect(inputs).toHaveLength(1);
      seen.push([...output.shape]);
    });
    const x = kiln.tensor([[1, -2]]);
    model.call(x);
    expect(seen).toEqual([[1, 2]]);
    // A hook's return value replaces the output; a pre-hook's array replaces the inputs.
    const negate = model.registerForwardHook((_m, _inputs, output) => output.neg());
    const double = model.registerForwardPreHook((_m, [input]) => [(input as kiln.Tensor).mul(2)]);
    const plain = (model.layers[1]!.call(first.call(x.mul(2))).tolist() as number[][])[0]!;
    expect((model.call(x).tolist() as number[][])[0]).toEqual(plain.map((v) => -v));
    negate.remove();
    double.remove();
    features.remove();
    expect((model.call(x).tolist() as number[][])[0]).toEqual((model.layers[1]!.call(first.call(x)).tolist() as number[][])[0]);
    expect(seen).toHaveLength(3);
  });

  it('requiresGrad_(false) freezes a module: backward leaves its parameters without gradients', async () => {
    const backbone = new nn.Linear(3, 3);
    const head = new nn.Linear(3, 1);
    expect(backbone.requiresGrad_(false)).toBe(backbone);
    await head.call(backbone.call(kiln.ones([2, 3]))).sum().backward();
    expect(backbone.parameters().map((p) => p.grad)).toEqual([undefined, undefined]);
    expect(head.parameters().every((p) => p.grad !== undefined)).toBe(true);
  });
});
