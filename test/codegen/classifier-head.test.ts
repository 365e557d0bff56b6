import { describe, expect, it } from 'vitest';
import { compile, optimize, type CompileOptions } from '../../src/compiler.js';
import { parseGraph } from '../../src/ir/parser.js';
import { instantiateGraph } from '../../src/ir/instantiate.js';
import { randomInputs } from '../../src/io/random-inputs.js';
import type { Graph } from '../../src/ir/graph.js';
import { KilnError } from '../../src/ir/errors.js';
import { tensorData } from '../../src/ir/tensor-data.js';
import { useGpu } from '../helpers/gpu.js';
import { expectProgramAgrees } from '../helpers/compare.js';
import { expectRoundTrip } from '../ir/roundtrip.js';
import { manualSeed, randn } from '../../src/frontend/torch/index.js';
import * as nn from '../../src/frontend/torch/nn.js';
import { trace } from '../../src/frontend/trace/trace.js';

// A classifier's head (global average pool, the fully connected layer reading it, a softmax
// reading that, and a max pool before the average pool) becomes one fused node
// (fuse-classifier-head) for software adapters, run by one kernel; it must agree with the CPU
// reference of the unfused ops.

interface HeadOptions {
  readonly n?: string;
  readonly c?: number;
  readonly k?: number;
  /** The plane's height and width (of the max pool's input, when there is one). */
  readonly hw?: readonly [string, string];
  readonly bias?: boolean;
  readonly softmax?: boolean;
  /** A 2x2 max pool of stride 2 in front of the average pool. */
  readonly maxPool?: boolean;
  readonly dtype?: string;
  readonly sizes?: string;
}

/** A head over x [N, C, H, W]: pool, flatten, matmul [C, K] (and bias), softmax. */
function head(o: HeadOptions = {}): string {
  const { n = '2', c = 70, k = 67, hw = ['5', '7'], dtype = 'f32' } = o;
  const t = (s: string) => `${dtype}[${s}] @webgpu`;
  const half = (d: string) => (/^\d+$/.test(d) ? String(Math.floor(Number(d) / 2)) : d.replace(/^"2\*(\w+)"$/, '$1'));
  const lines = [];
  let x = '%x';
  if (o.maxPool) lines.push(`  %m = max_pool2d(%x) {kernel_size = [2, 2], stride = [2, 2]} : ${t(`${n},${c},${half(hw[0])},${half(hw[1])}`)}`), (x = '%m');
  lines.push(`  %p = global_avg_pool(${x}) : ${t(`${n},${c},1,1`)}`, `  %f = flatten(%p) : ${t(`${n},${c}`)}`, `  %y = matmul(%f, %w) : ${t(`${n},${k}`)}`);
  let last = '%y';
  if (o.bias !== false) lines.push(`  %z = add(%y, %b) : ${t(`${n},${k}`)}`), (last = '%z');
  if (o.softmax !== false) lines.push(`  %s = softmax(${last}) : ${t(`${n},${k}`)}`), (last = '%s');
  const bias = o.bias !== false ? `, %b: ${t(String(k))}` : '';
  return `graph g(%x: ${t(`${n},${c},${hw[0]},${hw[1]}`)}, %w: ${t(`${c},${k}`)}${bias}) -> (${t(`${n},${k}`)})${o.sizes ? ` sizes(${o.sizes})` : ''} {\n${lines.join('\n')}\n  return ${last}\n}\n`;
}

/** A software adapter (lavapipe). */
const LAVAPIPE: CompileOptions = { adapterClass: 'software', adapterFeatures: ['subgroups'], maxStorageBuffers: 16 };

const heads = (g: Graph) => g.nodes.filter((n) => n.op === 'fused' && n.attrs.kernel === 'classifier_head');

describe('fuse-classifier-head', () => {
  it('makes the pool, flatten, matmul, bias and softmax one node, for software adapters', () => {
    const g = parseGraph(head({ maxPool: true }));
    const fused = optimize(g, LAVAPIPE).graph;
    expect(heads(fused)).toHaveLength(1);
    expect(fused.nodes.filter((n) => n.op !== 'const' && n.op !== 'fused')).toEqual([]);
    expect(heads(fused)[0]!.inputs[0]!.name).toBe('x');
    expectRoundTrip(fused);
    expect(heads(optimize(g, { ...LAVAPIPE, adapterClass: 'gpu' }).graph)).toHaveLength(0);
    expect(heads(optimize(g, {}).graph)).toHaveLength(0);
  });

  it('leaves a pool another node reads, a layer too large for one workgroup, and a padded max pool', () => {
    const shared = parseGraph(head({ softmax: false }).replace('  return %z', `  %q = relu(%p) : f32[2,70,1,1] @webgpu\n  return %z, %q`).replace('-> (f32[2,67] @webgpu)', '-> (f32[2,67] @webgpu, f32[2,70,1,1] @webgpu)'));
    expect(heads(optimize(shared, LAVAPIPE).graph)).toHaveLength(0);
    expect(heads(optimize(parseGraph(head({ c: 300, k: 300 })), LAVAPIPE).graph)).toHaveLength(0);
    const padded = parseGraph(head({ maxPool: true, hw: ['4', '6'] }).replace('stride = [2, 2]}', 'stride = [2, 2], padding = [1, 1, 1, 1]}').replace('f32[2,70,2,3]', 'f32[2,70,3,4]'));
    const fused = optimize(padded, LAVAPIPE).graph;
    // The head is fused without the padded pool, which stays a kernel of its own.
    expect(heads(fused)).toHaveLength(1);
    expect(fused.nodes.some((n) => n.op === 'max_pool2d')).toBe(true);
  });

  it('refuses, naming the node, a hand-written head whose body is no head', () => {
    const g = parseGraph(`graph g(%x: f32[1,4,2,2] @webgpu) -> (f32[1,4,2,2] @webgpu) {
  %y = fused(%x) {body = graph classifier_head(%x: f32[1,4,2,2] @webgpu) -> (f32[1,4,2,2] @webgpu) {
      %y = relu(%x) : f32[1,4,2,2] @webgpu
      return %y
    }, kernel = "classifier_head"} : f32[1,4,2,2] @webgpu
  return %y
}
`);
    const opts = { ...LAVAPIPE, pipeline: 'dce' };
    expect(() => compile(g, opts)).toThrow(KilnError);
    expect(() => compile(g, opts)).toThrow(/fused node %y: its body is not the classifier head .* global_avg_pool/);
  });
});

describe('a classifier head agrees with the CPU reference', () => {
  const gpu = useGpu();

  /** `g` compiled for lavapipe in one dispatch agrees with the reference (`g` itself by default) at each of `envs`. */
  const expectAgrees = async (g: Graph, envs: readonly Record<string, number>[] = [{}], tol = 1e-5, opts: CompileOptions = LAVAPIPE, reference = g) => {
    const program = compile(g, opts);
    expect(program.dispatches.map((d) => program.kernels[d.kernel]!.name)).toEqual(['classifier_head']);
    await expectProgramAgrees(gpu(), program, envs.map((env, i) => {
      const fixed = Object.keys(env).length ? instantiateGraph(reference, env) : reference;
      return { graph: fixed, inputs: randomInputs(fixed, 5 + i) };
    }), tol, tol);
  };

  it('with bias and softmax: 70 channels, 67 classes (more than the workgroup), planes of 35 and 16', { timeout: 60_000 }, async () => {
    await expectAgrees(parseGraph(head()));
    await expectAgrees(parseGraph(head({ hw: ['4', '4'], c: 3, k: 1 })));
  });

  it('without softmax, without bias', { timeout: 60_000 }, async () => {
    await expectAgrees(parseGraph(head({ softmax: false })));
    await expectAgrees(parseGraph(head({ softmax: false, bias: false, k: 5 })));
  });

  it('over a 2x2 max pool (NaN in a window propagates to its class scores)', { timeout: 60_000 }, async () => {
    const g = parseGraph(head({ maxPool: true, hw: ['5', '9'] }));
    await expectAgrees(g);
    const program = compile(g, LAVAPIPE);
    const inputs = randomInputs(g, 9);
    const x = inputs['x']!.data as Float32Array;
    x[3] = NaN; // batch item 0, channel 0, row 0, column 3: a window the pool takes (its columns 0 to 7)
    const { Session } = await import('../../src/runtime/session.js');
    const session = await Session.create(gpu(), program);
    try {
      const got = (await session.run({ ...inputs, x: tensorData('f32', [2, 70, 5, 9], x) }))['s']!.data as Float32Array;
      expect(Array.from(got.slice(0, 67)).every(Number.isNaN)).toBe(true);
      expect(Array.from(got.slice(67)).some(Number.isNaN)).toBe(false);
    } finally {
      session.destroy();
    }
  });

  it('over a varying batch and plane, from one program', { timeout: 60_000 }, async () => {
    const g = parseGraph(head({ n: 'N', hw: ['"2*H"', '"2*W"'], maxPool: true, sizes: 'N: [1, 3], H: [1, 5], W: [1, 12]' }));
    await expectAgrees(g, [{ N: 3, H: 5, W: 12 }, { N: 1, H: 1, W: 1 }, { N: 2, H: 3, W: 7 }]);
  });

  it('where the layer is an ONNX-style gemm: weight [K, C] (trans_b), alpha, beta and a bias row; or [C, K] without bias', { timeout: 60_000 }, async () => {
    const gemm = (attrs: string, w: string, bias: string) => parseGraph(`graph g(%x: f32[N,70,5,7] @webgpu, %w: f32[${w}] @webgpu${bias ? `, %c: f32[${bias}] @webgpu` : ''}) -> (f32[N,67] @webgpu) sizes(N: [1, 3]) {
  %p = global_avg_pool(%x) : f32[N,70,1,1] @webgpu
  %f = flatten(%p) : f32[N,70] @webgpu
  %y = gemm(%f, %w${bias ? ', %c' : ''}) {${attrs}} : f32[N,67] @webgpu
  %s = softmax(%y) : f32[N,67] @webgpu
  return %s
}
`);
    await expectAgrees(gemm('trans_b = true, alpha = 0.5, beta = 2', '67,70', '67'), [{ N: 3 }, { N: 1 }]);
    await expectAgrees(gemm('alpha = 1.5', '70,67', ''), [{ N: 2 }]);
    await expectAgrees(gemm('trans_b = true', '67,70', '1,67'), [{ N: 2 }]);
  });

  it('for a traced classifier: AdaptiveAvgPool2d(1), Flatten, Linear, Softmax', { timeout: 60_000 }, async () => {
    manualSeed(3);
    const model = new nn.Sequential(new nn.Conv2d(3, 16, 3, { padding: 1 }), new nn.ReLU(), new nn.AdaptiveAvgPool2d(1), new nn.Flatten(), new nn.Linear(16, 10), new nn.Softmax(1));
    const g = trace(model, [randn([2, 3, 6, 10])]);
    const program = compile(g, LAVAPIPE);
    expect(program.dispatches.map((d) => program.kernels[d.kernel]!.name)).toContain('classifier_head');
    expect(program.dispatches).toHaveLength(2);
    await expectProgramAgrees(gpu(), program, [{ graph: g, inputs: randomInputs(g, 4) }], 1e-5, 1e-5);
  });

  it('in f16', { timeout: 60_000 }, async () => {
    await expectAgrees(parseGraph(head({ dtype: 'f16', c: 40, k: 10 })), [{}], 2e-2);
  });

  it('with int8 weights', { timeout: 60_000 }, async () => {
    const values = Array.from({ length: 70 * 67 }, (_, i) => (((i * 37) % 23) - 11) / 16).join(', ');
    const g = parseGraph(head().replace(', %w: f32[70,67] @webgpu', '').replace('  %p =', `  %w = const() {value = [${values}]} : f32[70,67] @webgpu\n  %p =`));
    const int8 = { weights: 'int8', int8MinElements: 1 } as const;
    expect(optimize(g, { ...LAVAPIPE, ...int8 }).graph.nodes.some((n) => n.op === 'const' && n.output.type.dtype === 'u32')).toBe(true);
    // The reference dequantizes the same int8 weights.
    await expectAgrees(g, [{}], 1e-5, { ...LAVAPIPE, ...int8 }, optimize(g, { pipeline: 'quantize-weights', ...int8 }).graph);
  });
});
