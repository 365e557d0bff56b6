import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/index.js';
import { useDefaultGpu } from './default-gpu.js';

const { nn, optim } = kiln;

// The names PyTorch gives these models' state (`named_parameters()` / `state_dict()` of the same
// classes written in Python with attributes assigned in the same order).

class Block extends nn.Module {
  conv = new nn.Conv2d(3, 8, 3);
  bn = new nn.BatchNorm2d(8);
  scale = nn.Parameter(kiln.ones([8, 1, 1]));
  notState = kiln.zeros([2]); // a plain tensor attribute: not registered, as in PyTorch
  forward(x: kiln.Tensor): kiln.Tensor {
    return this.bn.call(this.conv.call(x)).mul(this.scale);
  }
}

class Net extends nn.Module {
  features: Block;
  head: kiln.nn.Linear;
  extra = new nn.ModuleList([new nn.Linear(2, 2)]);
  constructor() {
    super();
    // Assigned in the constructor body: registered at assignment, in that order.
    this.features = new Block();
    this.head = new nn.Linear(8, 4);
  }
  forward(x: kiln.Tensor): kiln.Tensor {
    return this.head.call(this.features.call(x).mean({ dim: [2, 3] }));
  }
}

describe('modules register what is assigned to their fields, as PyTorch\'s __setattr__', () => {
  const gpu = useDefaultGpu();

  it('names parameters, buffers and submodules as PyTorch does, in assignment order', () => {
    const m = new Net();
    // `extra` is defined with the fields; `features` and `head` are assigned in the constructor after them.
    expect(m.namedParameters().map(([n]) => n)).toEqual([
      'extra.0.weight', 'extra.0.bias',
      'features.scale', 'features.conv.weight', 'features.conv.bias', 'features.bn.weight', 'features.bn.bias',
      'head.weight', 'head.bias',
    ]);
    expect(Object.keys(m.stateDict())).toEqual([
      'extra.0.weight', 'extra.0.bias',
      'features.scale', 'features.conv.weight', 'features.conv.bias',
      'features.bn.weight', 'features.bn.bias', 'features.bn.running_mean', 'features.bn.running_var', 'features.bn.num_batches_tracked',
      'head.weight', 'head.bias',
    ]);
    expect(m.namedChildren().map(([n]) => n)).toEqual(['extra', 'features', 'head']);
    expect(m.parameters()).toContain(m.features.scale);
    expect(m.buffers()).not.toContain(m.features.notState);
    expect(m.features.scale.requiresGrad).toBe(true);
  });

  it('an optimizer over them updates them, and to() moves them', async () => {
    const m = new Net();
    expect(m.parameters().length).toBe(9);
    const opt = new optim.SGD(m.parameters(), { lr: 0.1 });
    await m.to(gpu());
    expect([...m.parameters(), ...m.buffers()].every((t) => t.deviceType === 'webgpu')).toBe(true);
    const before = await m.head.bias!.to('cpu');
    m.head.bias!.grad = await kiln.ones([4]).to(gpu());
    opt.step();
    const after = (await m.head.bias!.to('cpu')).tolist() as number[];
    after.forEach((v, i) => expect(v - (before.tolist() as number[])[i]!).toBeCloseTo(-0.1, 6));
  });

  it('reassigning replaces in place, undefined or delete removes, registerModule still works', () => {
    class M extends nn.Module {
      a = new nn.Linear(2, 2);
      b = new nn.Linear(2, 3);
      c = this.registerModule('c', new nn.ReLU());
      forward(x: kiln.Tensor): kiln.Tensor { return x; }
    }
    const m = new M() as M & { b?: kiln.nn.Linear; d?: kiln.nn.Linear };
    m.a = new nn.Linear(2, 5);
    expect(m.namedChildren().map(([n]) => n)).toEqual(['a', 'b', 'c']);
    expect(m.stateDict()['a.weight']!.shape).toEqual([5, 2]);
    (m as { b?: unknown }).b = undefined;
    m.d = new nn.Linear(1, 1);
    expect(m.namedChildren().map(([n]) => n)).toEqual(['a', 'c', 'd']);
    delete m.d;
    expect(m.namedChildren().map(([n]) => n)).toEqual(['a', 'c']);
    expect(() => { (m as unknown as { a: number }).a = 3; }).toThrow(/cannot assign number to 'a'/);
  });

  it('refuses a plain tensor over a parameter (wrap it in Parameter), takes one over a buffer', () => {
    const bn = new nn.BatchNorm1d(2) as kiln.nn.BatchNorm1d & { weight: kiln.Tensor; runningMean: kiln.Tensor };
    expect(() => { bn.weight = kiln.ones([2]); }).toThrow(/cannot assign a plain tensor to parameter 'weight'.*nn\.Parameter/);
    bn.weight = nn.Parameter(kiln.full([2], 3));
    expect(bn.stateDict().weight!.tolist()).toEqual([3, 3]);
    const bufferOwner = new (class extends nn.Module {
      constructor() { super(); this.registerBuffer('stat', kiln.zeros([2])); }
      forward(x: kiln.Tensor): kiln.Tensor { return x; }
    })() as kiln.nn.Module & { stat?: kiln.Tensor };
    bufferOwner.stat = kiln.ones([2]);
    expect(bufferOwner.stateDict().stat!.tolist()).toEqual([1, 1]);
    expect(bufferOwner.parameters()).toEqual([]);
  });

  it('ties weights by assigning one module\'s parameter to another\'s field: listed once, as PyTorch does', () => {
    class Tied extends nn.Module {
      embed = new nn.Embedding(5, 3);
      head = new nn.Linear(3, 5, { bias: false });
      constructor() {
        super();
        (this.head as { weight: kiln.Tensor }).weight = this.embed.weight;
      }
      forward(x: kiln.Tensor): kiln.Tensor { return this.head.call(this.embed.call(x)); }
    }
    const m = new Tied();
    expect(m.head.weight).toBe(m.embed.weight);
    expect(m.namedParameters().map(([n]) => n)).toEqual(['embed.weight']);
    expect(Object.keys(m.stateDict())).toEqual(['embed.weight', 'head.weight']);
    expect(() => new optim.Adam(m.parameters())).not.toThrow();
  });

  it('modules start in training mode; eval() and train() reach every descendant', () => {
    const m = new Net();
    expect(m.modules().every((x) => x.training)).toBe(true);
    m.eval();
    expect(m.modules().every((x) => !x.training)).toBe(true);
    m.train();
    expect(m.features.bn.training).toBe(true);
  });
});
