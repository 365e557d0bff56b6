import { describe, expect, it } from 'vitest';
import { differentiate, gradName } from '../../src/passes/autodiff/differentiate.js';
import { GRAD_RULES } from '../../src/passes/autodiff/grad-rules.js';
import { parseGraph } from '../../src/ir/parser.js';
import { Graph } from '../../src/ir/graph.js';
import type { Attrs } from '../../src/ir/attrs.js';
import { tensorData, type TensorData } from '../../src/ir/tensor-data.js';
import { verify } from '../../src/ir/verify.js';
import { compile } from '../../src/compiler.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';
import { Session } from '../../src/runtime/session.js';
import { Random } from '../../src/frontend/trace/random.js';
import { useGpu } from '../helpers/gpu.js';
import { randomData } from '../helpers/compare.js';

async function runOnGpu(device: ReturnType<ReturnType<typeof useGpu>>, g: Graph, inputs: Record<string, TensorData>) {
  const s = await Session.create(device, compile(g));
  try {
    return await s.run(inputs);
  } finally {
    s.destroy();
  }
}

/**
 * Checks d(sum(op(inputs) * r))/d(input) computed by the backward graph on the device against
 * central finite differences of the forward graph on the CPU reference.
 */
async function gradCheck(device: ReturnType<ReturnType<typeof useGpu>>, op: string, shapes: number[][], attrs: Attrs = {}, positive = false) {
  const g = new Graph(`${op}_grad`);
  const xs = shapes.map((s, i) => g.addInput(`x${i}`, { dtype: 'f32', shape: s, device: 'webgpu' }));
  const y = g.addNode(op, xs, attrs).output;
  const rng = new Random(shapes.flat().length * 7 + op.length);
  const r = g.addNode('const', [], { value: randomData('f32', y.type.shape, rng) }).output;
  const loss = g.addNode('sum', [g.addNode('mul', [y, r]).output], { axes: [] }, { names: ['loss'] }).output;
  g.setOutputs([loss]);
  const back = differentiate(g, { loss: 'loss', wrt: xs.map((x) => x.name) });
  verify(back);
  const inputs: Record<string, TensorData> = {};
  shapes.forEach((s, i) => {
    const d = randomData('f32', s, rng);
    // Keep away from kinks and poles: |x| >= 0.2, and positive where the op needs it.
    const v = d.data as Float32Array;
    for (let k = 0; k < v.length; k++) v[k] = (positive ? Math.abs(v[k]!) + 0.5 : Math.sign(v[k]!) * (Math.abs(v[k]!) + 0.2));
    inputs[`x${i}`] = d;
  });
  const got = await runOnGpu(device, back, inputs);
  const eps = 1e-2;
  const lossAt = (feeds: Record<string, TensorData>) => (runOnCpu(g, feeds).loss!.data as Float32Array)[0]!;
  for (let i = 0; i < shapes.length; i++) {
    const name = `x${i}`;
    const base = inputs[name]!.data as Float32Array;
    const grad = got[gradName(name)]!.data as Float32Array;
    for (let k = 0; k < base.length; k++) {
      const plus = Float32Array.from(base); plus[k]! += eps;
      const minus = Float32Array.from(base); minus[k]! -= eps;
      const fd = (lossAt({ ...inputs, [name]: tensorData('f32', shapes[i]!, plus) }) - lossAt({ ...inputs, [name]: tensorData('f32', shapes[i]!, minus) })) / (2 * eps);
      expect(Math.abs(grad[k]! - fd), `${op} d/d${name}[${k}]: backward ${grad[k]} vs finite difference ${fd}`).toBeLessThan(2e-2 + 2e-2 * Math.abs(fd));
    }
  }
}

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

  const cases: [string, number[][], Attrs?, boolean?][] = [
    ['add', [[3, 4], [4]]], ['sub', [[3, 4], [3, 1]]], ['mul', [[2, 3], [2, 3]]], ['div', [[5], [5]], {}, true],
    ['neg', [[6]]], ['pow', [[4], [4]], {}, true], ['relu', [[7]]], ['leaky_relu', [[7]], { alpha: 0.1 }],
    ['exp', [[5]]], ['log', [[5]], {}, true], ['sqrt', [[5]], {}, true], ['sigmoid', [[6]]], ['tanh', [[6]]], ['gelu', [[6]]],
    ['matmul', [[3, 4], [4, 5]]], ['transpose', [[2, 3, 4]], { perm: [2, 0, 1] }], ['reshape', [[2, 6]], { shape: [3, 4] }],
    ['flatten', [[2, 3, 2]]], ['squeeze', [[3, 1]], { axes: [1] }], ['unsqueeze', [[3]], { axes: [0] }],
    ['expand', [[3, 1]], { shape: [3, 4] }], ['sum', [[3, 4]], { axes: [1] }], ['mean', [[3, 4]], { axes: [0], keepdims: true }],
    ['softmax', [[3, 5]], { axis: -1 }], ['log_softmax', [[3, 5]], { axis: 0 }],
  ];
  it('has a finite-difference check for every gradient rule', () => {
    expect(new Set(cases.map((c) => c[0]))).toEqual(new Set(Object.keys(GRAD_RULES)));
  });
  for (const [op, shapes, attrs, positive] of cases) {
    it(`${op}: backward on the adapter matches finite differences`, () => gradCheck(gpu(), op, shapes, attrs ?? {}, positive ?? false));
  }

  it('names the op that has no gradient rule', () => {
    const g = parseGraph(`graph g(%x: f32[2,3] @webgpu) -> (i32[2] @webgpu) {
  %0 = argmax(%x) {axis = 1} : i32[2] @webgpu
  %1 = cast(%0) {to = "f32"} : f32[2] @webgpu
  %l = sum(%1) : f32[] @webgpu
  return %0
}
`);
    expect(() => differentiate(g, { loss: 'l', wrt: ['x'] })).toThrow(/no gradient rule for (cast|argmax)/);
  });
});
