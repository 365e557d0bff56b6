import { describe, expect, it } from 'vitest';
import { Linear, manualSeed, randn, ReLU, Sequential, tensor } from '../../src/frontend/torch/index.js';
import { trace } from '../../src/frontend/trace/trace.js';
import { verify } from '../../src/ir/verify.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';
import { printGraph } from '../../src/ir/printer.js';
import { expectRoundTrip } from '../ir/roundtrip.js';

describe('trace', () => {
  manualSeed(1);
  const model = new Sequential(new Linear(6, 5), new ReLU(), new Linear(5, 3));
  const x = randn([4, 6]);

  it('records a Sequential MLP as a verified graph with named parameters', () => {
    const g = trace(model, [x]);
    verify(g);
    expect(g.nodes.map((n) => n.op)).toEqual(['const', 'transpose', 'matmul', 'const', 'add', 'relu', 'const', 'transpose', 'matmul', 'const', 'add']);
    const refs = g.nodes.filter((n) => n.op === 'const').map((n) => n.attrs.ref);
    expect(refs).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    expect(g.inputs.map((v) => v.name)).toEqual(['x']);
    expect(g.outputs.map((v) => [v.name, v.type.shape])).toEqual([['y', [4, 3]]]);
    expect(g.values().every((v) => v.type.device === 'webgpu')).toBe(true);
  });

  it('the traced graph computes what eager execution computes', () => {
    const g = trace(model, [x]);
    const eager = model.call(x).data;
    const traced = runOnCpu(g, { x: x.data }).y!;
    expect(Array.from(traced.data)).toEqual(Array.from(eager.data));
  });

  it('prints and parses back to the same text', () => {
    const g = trace(model, [x]);
    expect(printGraph(g)).toContain('%y = add(');
    expectRoundTrip(g);
  });

  it('eager ops compute on the host', () => {
    const a = tensor([[1, 2], [3, 4]]);
    const b = tensor([10, 20]);
    expect(a.add(b).tolist()).toEqual([[11, 22], [13, 24]]);
    expect(a.matmul(a.t()).tolist()).toEqual([[5, 11], [11, 25]]);
    expect(a.sum({ dim: 1 }).tolist()).toEqual([3, 7]);
  });

  it('a shape error names the layer and the shapes', () => {
    expect(() => trace(model, [randn([4, 7])])).toThrow(/Linear\(6, 5\) got an input of shape \[4,7\]/);
    expect(() => tensor([[1, 2]]).matmul(tensor([[1, 2]]))).toThrow(/inner dimensions differ: f32\[1,2\] x f32\[1,2\]/);
  });
});
