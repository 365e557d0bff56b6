import { describe, expect, it } from 'vitest';
import { differentiate, gradName } from '../../src/passes/autodiff/differentiate.js';
import { gradRules } from '../../src/passes/autodiff/rules.js';
import { parseGraph } from '../../src/ir/parser.js';
import { Graph } from '../../src/ir/graph.js';
import type { Attrs } from '../../src/ir/attrs.js';
import { tensorData, type TensorData } from '../../src/ir/tensor-data.js';
import { verify } from '../../src/ir/verify.js';
import { compile } from '../../src/compiler.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';
import { Session } from '../../src/runtime/session.js';
import { Random } from '../../src/frontend/torch/random.js';
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
/** How a case fills an operand: random floats (the default), well-separated floats (no near-ties for max), or a bool mask. */
type InputKind = 'float' | 'distinct' | 'bool';

async function gradCheck(device: ReturnType<ReturnType<typeof useGpu>>, op: string, shapes: number[][], attrs: Attrs = {}, positive = false, kinds: InputKind[] = []) {
  const g = new Graph(`${op}_grad`);
  const xs = shapes.map((s, i) => g.addInput(`x${i}`, { dtype: kinds[i] === 'bool' ? 'bool' : 'f32', shape: s, device: 'webgpu' }));
  const y = g.addNode(op, xs, attrs).output;
  const rng = new Random(shapes.flat().length * 7 + op.length);
  const r = g.addNode('const', [], { value: randomData('f32', y.type.shape, rng) }).output;
  const loss = g.addNode('sum', [g.addNode('mul', [y, r]).output], { axes: [] }, { names: ['loss'] }).output;
  g.setOutputs([loss]);
  const floats = xs.filter((x) => x.type.dtype === 'f32');
  const back = differentiate(g, { loss: 'loss', wrt: floats.map((x) => x.name) });
  verify(back);
  const inputs: Record<string, TensorData> = {};
  shapes.forEach((s, i) => {
    if (kinds[i] === 'bool') {
      inputs[`x${i}`] = tensorData('bool', s, Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => (rng.uniform(0, 1) < 0.5 ? 1 : 0)));
      return;
    }
    if (kinds[i] === 'distinct') {
      // A shuffled ramp 0.1 apart: finite differences never cross a tie between window elements.
      const n = s.reduce((a, b) => a * b, 1);
      const ramp = Array.from({ length: n }, (_, k) => (k - n / 2) * 0.1);
      for (let k = n - 1; k > 0; k--) { const j = Math.floor(rng.uniform(0, k + 1)); [ramp[k], ramp[j]] = [ramp[j]!, ramp[k]!]; }
      inputs[`x${i}`] = tensorData('f32', s, ramp);
      return;
    }
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
    if (kinds[i] === 'bool') continue;
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

  const cases: [string, number[][], Attrs?, boolean?, InputKind[]?][] = [
    ['add', [[3, 4], [4]]], ['sub', [[3, 4], [3, 1]]], ['mul', [[2, 3], [2, 3]]], ['div', [[5], [5]], {}, true],
    ['neg', [[6]]], ['pow', [[4], [4]], {}, true], ['relu', [[7]]], ['leaky_relu', [[7]], { alpha: 0.1 }],
    ['exp', [[5]]], ['log', [[5]], {}, true], ['sqrt', [[5]], {}, true], ['sigmoid', [[6]]], ['tanh', [[6]]], ['gelu', [[6]]],
    ['matmul', [[3, 4], [4, 5]]], ['transpose', [[2, 3, 4]], { perm: [2, 0, 1] }], ['reshape', [[2, 6]], { shape: [3, 4] }],
    ['flatten', [[2, 3, 2]]], ['squeeze', [[3, 1]], { axes: [1] }], ['unsqueeze', [[3]], { axes: [0] }],
    ['expand', [[3, 1]], { shape: [3, 4] }], ['sum', [[3, 4]], { axes: [1] }], ['mean', [[3, 4]], { axes: [0], keepdims: true }],
    ['softmax', [[3, 5]], { axis: -1 }], ['log_softmax', [[3, 5]], { axis: 0 }],
    ['conv2d', [[2, 3, 6, 5], [4, 3, 3, 3], [4]], { padding: [1, 1, 1, 1] }],
    ['conv2d', [[1, 4, 7, 6], [6, 2, 3, 2]], { stride: [2, 2], padding: [0, 1, 1, 0], dilation: [1, 2], groups: 2 }],
    ['max_pool2d', [[2, 2, 5, 5]], { kernel_size: [2, 2] }, false, ['distinct']],
    ['max_pool2d', [[1, 2, 6, 5]], { kernel_size: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1], ceil_mode: true }, false, ['distinct']],
    ['avg_pool2d', [[2, 2, 5, 5]], { kernel_size: [2, 2] }],
    ['avg_pool2d', [[1, 2, 6, 5]], { kernel_size: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1], ceil_mode: true }],
    ['avg_pool2d', [[1, 2, 6, 5]], { kernel_size: [3, 2], stride: [2, 1], padding: [1, 0, 1, 1], count_include_pad: true }],
    ['global_avg_pool', [[2, 3, 4, 3]]], ['adaptive_avg_pool2d', [[1, 2, 7, 5]], { output_size: [3, 2] }],
    ['gemm', [[3, 4], [4, 5], [5]], { alpha: 0.5, beta: 2 }], ['gemm', [[4, 3], [5, 4], [3, 1]], { trans_a: true, trans_b: true }],
    ['where', [[3, 4], [3, 4], [4]], {}, false, ['bool']], ['maximum', [[3, 4], [4]]], ['minimum', [[2, 3], [2, 3]]],
    ['abs', [[6]]], ['clip', [[8]], { min: -0.5, max: 0.7 }], ['cast', [[5]], { to: 'f32' }],
  ];
  it('has a finite-difference check for every gradient rule', () => {
    expect(new Set(cases.map((c) => c[0]))).toEqual(new Set(Object.keys(gradRules)));
  });
  for (const [op, shapes, attrs, positive, kinds] of cases) {
    it(`${op} ${JSON.stringify(attrs ?? {})}: backward on the adapter matches finite differences`, () => gradCheck(gpu(), op, shapes, attrs ?? {}, positive ?? false, kinds ?? []));
  }

  it('names the op that has no gradient rule', () => {
    const g = parseGraph(`graph g(%x: f32[2,3] @webgpu) -> (f32[] @webgpu) {
  %0 = hardswish(%x) : f32[2,3] @webgpu
  %l = sum(%0) : f32[] @webgpu
  return %l
}
`);
    expect(() => differentiate(g, { loss: 'l', wrt: ['x'] })).toThrow(/no gradient rule for hardswish/);
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
