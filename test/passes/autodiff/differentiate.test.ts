import { describe, expect, it } from 'vitest';
import { differentiate } from '../../../src/passes/autodiff/differentiate.js';
import { applyRule, type GradRule } from '../../../src/passes/autodiff/grad-context.js';
import { GraphRebuilder } from '../../../src/passes/rebuild.js';
import { parseGraph } from '../../../src/ir/parser.js';
import { Graph, type Value } from '../../../src/ir/graph.js';
import type { Attrs } from '../../../src/ir/attrs.js';
import { numel } from '../../../src/ir/types.js';
import { fromF16Array, toF16Array } from '../../../src/ir/f16.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';
import { Random } from '../../../src/frontend/torch/random.js';
import { expectClose, randomData } from '../../helpers/compare.js';
import { tensorData, type TensorData } from '../../../src/ir/tensor-data.js';
import { compile } from '../../../src/compiler.js';
import { Session } from '../../../src/runtime/session.js';
import { useGpu } from '../../helpers/gpu.js';

async function runOnGpu(device: ReturnType<ReturnType<typeof useGpu>>, g: Graph, inputs: Record<string, TensorData>) {
  const s = await Session.create(device, compile(g));
  try {
    return await s.run(inputs);
  } finally {
    s.destroy();
  }
}

/** A graph l = sum(OP(x)) for x: f32[2,3]; `op` is the node text after `%0 = `. */
const sumOf = (op: string, type = 'f32[2,3]') => parseGraph(`graph g(%x: f32[2,3] @webgpu) -> (f32[] @webgpu) {
  %0 = ${op} : ${type} @webgpu
  %l = sum(%0) : f32[] @webgpu
  return %l
}
`);

describe('autodiff', () => {
  const gpu = useGpu();

  it('the classic check: y = ((x + 2) ** 2 + 3).mean() at x = [1, 2, 3]', async () => {
    const g = parseGraph(`graph g(%x: f32[3] @webgpu) -> (f32[] @webgpu) {
  %two = const() {value = [2]} : f32[] @webgpu
  %three = const() {value = [3]} : f32[] @webgpu
  %0 = add(%x, %two) : f32[3] @webgpu
  %1 = pow(%0, %two) : f32[3] @webgpu
  %2 = add(%1, %three) : f32[3] @webgpu
  %y = mean(%2) : f32[] @webgpu
  return %y
}
`);
    const back = differentiate(g, { loss: 'y', wrt: ['x'] });
    const out = await runOnGpu(gpu(), back, { x: tensorData('f32', [3], [1, 2, 3]) });
    expect(out.y!.data[0]).toBeCloseTo(19.6667, 4);
    expect(Array.from(out['grad.x']!.data as Float32Array).map((v) => Number(v.toFixed(4)))).toEqual([2, 2.6667, 3.3333]);
  });

  it('a causal self-attention block with learned embeddings differentiates into one WebGPU Program that matches the CPU', async () => {
    const [batch, steps, vocab, d] = [2, 4, 10, 8];
    const rng = new Random(5);
    const g = new Graph('block');
    const param = (name: string, shape: number[]) => g.addInput(name, { dtype: 'f32', shape, device: 'webgpu' });
    const tokens = g.addInput('tokens', { dtype: 'i32', shape: [batch, steps], device: 'webgpu' });
    const [table, gain, shift, wqkv, wout] = [param('table', [vocab, d]), param('gain', [d]), param('shift', [d]), param('wqkv', [d, 3 * d]), param('wout', [d, vocab])];
    const op = (name: string, inputs: Value[], attrs: Attrs = {}) => g.addNode(name, inputs, attrs).outputs;
    const constant = (dtype: 'f32' | 'bool', shape: number[], values: number[]) => op('const', [], { value: tensorData(dtype, shape, values) })[0]!;
    const h = op('embedding', [table, tokens])[0]!;
    const normed = op('layer_norm', [h, gain, shift])[0]!;
    const [q, k, v] = op('split', [op('matmul', [normed, wqkv])[0]!], { axis: 2, sizes: [d, d, d] }) as [Value, Value, Value];
    const scores = op('mul', [op('matmul', [q, op('transpose', [k], { perm: [0, 2, 1] })[0]!])[0]!, constant('f32', [], [1 / Math.sqrt(d)])])[0]!;
    const causal = constant('bool', [steps, steps], Array.from({ length: steps * steps }, (_, i) => (i % steps <= Math.floor(i / steps) ? 1 : 0)));
    const weights = op('softmax', [op('where', [causal, scores, constant('f32', [], [-1e9])])[0]!], { axis: -1 })[0]!;
    const mixed = op('gelu', [op('matmul', [weights, v])[0]!], { approximate: 'tanh' })[0]!;
    const last = op('slice', [op('add', [h, mixed])[0]!], { starts: [1], ends: [steps], axes: [1] })[0]!;
    const logp = op('log_softmax', [op('matmul', [last, wout])[0]!], { axis: -1 })[0]!;
    const pick = constant('f32', logp.type.shape as number[], Array.from({ length: numel(logp.type.shape) }, () => rng.uniform(-1, 0)));
    g.setOutputs([g.addNode('sum', [op('mul', [logp, pick])[0]!], {}, { names: ['loss'] }).output]);
    const wrt = ['table', 'gain', 'shift', 'wqkv', 'wout'];
    const back = differentiate(g, { loss: 'loss', wrt });
    const inputs: Record<string, TensorData> = {
      tokens: tensorData('i32', [batch, steps], [3, 1, 4, 1, 5, 9, 2, 6]),
      ...Object.fromEntries(g.inputs.filter((x) => x.type.dtype === 'f32').map((x) => [x.name, randomData('f32', x.type.shape, rng)])),
    };
    const got = await runOnGpu(gpu(), back, inputs); // compile(): one Program, so no op of the backward may need the CPU
    const want = runOnCpu(back, inputs);
    // A long f32 chain: the device rounds each op to f32 where the reference keeps doubles inside an op.
    for (const name of wrt) expectClose(got[`grad.${name}`]!, want[`grad.${name}`]!, 1e-4, 1e-3);
  });

  it('differentiates f16 graphs (constants are stored as f16 bits) like their f32 twins, to f16 precision', () => {
    const text = (t: string) => `graph g(%x: ${t}[2,3] @webgpu) -> (${t}[] @webgpu) {
  %0 = gelu(%x) {approximate = "tanh"} : ${t}[2,3] @webgpu
  %1 = layer_norm(%0) : ${t}[2,3] @webgpu
  %2 = pad(%1) {pads = [0, 1, 0, 2], mode = "reflect"} : ${t}[2,6] @webgpu
  %3 = mul(%2, %2) : ${t}[2,6] @webgpu
  %l = sum(%3) : ${t}[] @webgpu
  return %l
}
`;
    const x = [0.3, -1.2, 2, 0.7, -0.4, 1.5];
    const grad = (t: 'f16' | 'f32') => {
      const out = runOnCpu(differentiate(parseGraph(text(t)), { loss: 'l', wrt: ['x'] }), { x: t === 'f16' ? tensorData('f16', [2, 3], toF16Array(x)) : tensorData('f32', [2, 3], x) });
      const d = out['grad.x']!;
      return d.dtype === 'f16' ? Array.from(fromF16Array(d.data as Uint16Array)) : Array.from(d.data);
    };
    const [half, full] = [grad('f16'), grad('f32')];
    half.forEach((v, i) => expect(Math.abs(v - full[i]!)).toBeLessThan(2e-2 * Math.max(1, Math.abs(full[i]!))));
  });

  it('names the op that has no gradient rule, and why when it is marked non-differentiable', () => {
    expect(() => differentiate(sumOf('bitcast(%x) {to = "f32"}'), { loss: 'l', wrt: ['x'] }))
      .toThrow(/no gradient rule for bitcast \(computing %0 on the path to the loss\): reinterprets bits/);
  });

  it('refuses an attribute value a rule does not handle, naming the op and the attribute', () => {
    const g = parseGraph(`graph g(%x: f32[2,3] @webgpu, %u: f32[2,1] @webgpu) -> (f32[] @webgpu) {
  %i = const() {value = [1, 0]} : i32[2,1] @webgpu
  %0 = scatter_elements(%x, %i, %u) {axis = 1, reduction = "mul"} : f32[2,3] @webgpu
  %l = sum(%0) : f32[] @webgpu
  return %l
}
`);
    expect(() => differentiate(g, { loss: 'l', wrt: ['x', 'u'] })).toThrow(/no gradient for scatter_elements with reduction = "mul" \(the rule knows "none", "add", "max" and "min"\)/);
  });

  it('refuses a node whose rule did not read one of its attributes set to a non-default value', () => {
    const ignoresAlpha: Record<string, GradRule> = { leaky_relu: (c) => [c.dy] };
    /** Runs that rule on the first node of `g`, its result standing in for its own gradient. */
    const runRule = (g: Graph) => {
      const b = new GraphRebuilder(g);
      for (const n of g.nodes) b.copy(n);
      const n = g.nodes[0]!;
      return () => applyRule(b, ignoresAlpha, n, n.inputs.map((v) => b.get(v)), n.outputs.map((v) => b.get(v)), [b.get(n.output)]);
    };
    expect(runRule(sumOf('leaky_relu(%x) {alpha = 0.25}'))).toThrow(/the gradient rule of leaky_relu does not handle attribute alpha = 0.25/);
    // At its default the attribute means what the rule was written for.
    expect(runRule(sumOf('leaky_relu(%x)'))).not.toThrow();
  });

  it('stops at a cast from integers: argmax carries no gradient, so nothing asks for its rule', async () => {
    const g = parseGraph(`graph g(%x: f32[2,3] @webgpu) -> (f32[] @webgpu) {
  %0 = argmax(%x) {axis = 1} : i32[2] @webgpu
  %1 = cast(%0) {to = "f32"} : f32[2] @webgpu
  %2 = sum(%x) : f32[] @webgpu
  %3 = sum(%1) : f32[] @webgpu
  %l = add(%2, %3) : f32[] @webgpu
  return %l
}
`);
    const out = await runOnGpu(gpu(), differentiate(g, { loss: 'l', wrt: ['x'] }), { x: tensorData('f32', [2, 3], [1, 5, 2, 0, -1, 3]) });
    expect(Array.from(out['grad.x']!.data)).toEqual([1, 1, 1, 1, 1, 1]);
  });
});
