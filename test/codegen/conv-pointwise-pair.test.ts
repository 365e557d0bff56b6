import { describe, expect, it } from 'vitest';
import { compile, optimize, type CompileOptions } from '../../src/compiler.js';
import { parseGraph } from '../../src/ir/parser.js';
import { printGraph } from '../../src/ir/printer.js';
import { instantiateGraph } from '../../src/ir/instantiate.js';
import { randomInputs } from '../../src/io/random-inputs.js';
import type { Graph } from '../../src/ir/graph.js';
import { useGpu } from '../helpers/gpu.js';
import { expectProgramAgrees } from '../helpers/compare.js';
import { expectRoundTrip } from '../ir/roundtrip.js';

// A convolution and the 1x1 convolution reading its output become one fused node
// (fuse-pointwise-pairs) for software adapters; lowering runs them as one kernel where both
// would take the row kernel with shared weights, else as two. Both outputs must agree with the
// CPU reference either way: the first's (often a residual downstream) and the second's.

/**
 * A MobileNetV3 block's tail and the next block's head: the gated projection with its residual,
 * then the expansion with hardswish. The projection's output is also a graph output. Channel
 * counts are no multiple of the kernel's channel blocks (16, then 8), and the rows no multiple of
 * a workgroup's 32 columns.
 */
const block = (dims: { n: string; w: string; sizes?: string }, dtype = 'f32') => {
  const t = (c: number) => `${dtype}[${dims.n},${c},3,${dims.w}] @webgpu`;
  return `graph g(%x: ${t(11)}, %s: ${dtype}[${dims.n},11,1,1] @webgpu, %w1: ${dtype}[20,11,1,1] @webgpu, %b1: ${dtype}[20] @webgpu, %r: ${t(20)}, %w2: ${dtype}[13,20,1,1] @webgpu, %b2: ${dtype}[13] @webgpu, %three: ${dtype}[] @webgpu, %six: ${dtype}[] @webgpu) -> (${t(20)}, ${t(13)})${dims.sizes ? ` sizes(${dims.sizes})` : ''} {
  %0 = mul(%x, %s) : ${t(11)}
  %1 = conv2d(%0, %w1, %b1) : ${t(20)}
  %p = add(%1, %r) : ${t(20)}
  %2 = conv2d(%p, %w2, %b2) : ${t(13)}
  %3 = add(%2, %three) : ${t(13)}
  %4 = clip(%3) {min = 0, max = 6} : ${t(13)}
  %5 = mul(%2, %4) : ${t(13)}
  %6 = div(%5, %six) : ${t(13)}
  return %p, %6
}
`;
};

/**
 * A MobileNet block without a gate: a depthwise conv (with bias and an activation), its
 * projection to `mid` channels, then the next block's expansion, rows `w` wide.
 */
const gateless = (dims: { n: string; w: string; sizes?: string; window?: number; act?: 'relu' | 'hardswish'; mid?: number }, dtype = 'f32') => {
  const { window: k = 3, act = 'relu', mid = 8 } = dims;
  const t = (c: number, h: number) => `${dtype}[${dims.n},${c},${h},${dims.w}] @webgpu`;
  const pad = (k - 1) / 2;
  const activation = act === 'relu' ? `  %1 = relu(%0) : ${t(24, 6)}` : [
    `  %h = add(%0, %three) : ${t(24, 6)}`, `  %c = clip(%h) {min = 0, max = 6} : ${t(24, 6)}`, `  %m = mul(%0, %c) : ${t(24, 6)}`, `  %1 = div(%m, %six) : ${t(24, 6)}`].join('\n');
  return `graph g(%x: ${t(24, 12)}, %wd: ${dtype}[24,1,${k},${k}] @webgpu, %bd: ${dtype}[24] @webgpu, %w1: ${dtype}[${mid},24,1,1] @webgpu, %w2: ${dtype}[32,${mid},1,1] @webgpu, %b2: ${dtype}[32] @webgpu, %three: ${dtype}[] @webgpu, %six: ${dtype}[] @webgpu) -> (${t(mid, 6)}, ${t(32, 6)})${dims.sizes ? ` sizes(${dims.sizes})` : ''} {
  %0 = conv2d(%x, %wd, %bd) {groups = 24, padding = [${pad}, ${pad}, ${pad}, ${pad}], stride = [2, 1]} : ${t(24, 6)}
${activation}
  %2 = conv2d(%1, %w1) : ${t(mid, 6)}
  %3 = conv2d(%2, %w2, %b2) : ${t(32, 6)}
  %4 = relu(%3) : ${t(32, 6)}
  return %2, %4
}
`;
};

/** A software adapter with subgroups, binding up to 16 storage buffers a shader (lavapipe). */
const LAVAPIPE: CompileOptions = { adapterClass: 'software', adapterFeatures: ['subgroups'], maxStorageBuffers: 16 };

const pairs = (g: Graph) => g.nodes.filter((n) => n.op === 'fused' && n.attrs.kernel === 'pointwise_pair');

describe('fuse-pointwise-pairs', () => {
  it('makes the two fused convs one node with both outputs, for software adapters binding enough buffers', () => {
    const g = parseGraph(block({ n: '2', w: '36' }));
    const paired = optimize(g, LAVAPIPE).graph;
    expect(pairs(paired)).toHaveLength(1);
    const pair = pairs(paired)[0]!;
    expect(pair.outputs.map((o) => o.name)).toEqual(['p', '6']);
    expect(printGraph(paired)).toContain('mul_conv2d_add_then_conv2d_add_clip_mul_div');
    expectRoundTrip(paired);
    // Its kernel binds 11 buffers (x, gate, both weights and biases, residual, 3, 6, both outputs).
    expect(pairs(optimize(g, { ...LAVAPIPE, maxStorageBuffers: 11 }).graph)).toHaveLength(1);
    expect(pairs(optimize(g, { ...LAVAPIPE, maxStorageBuffers: 10 }).graph)).toHaveLength(0);
    expect(pairs(optimize(g, { ...LAVAPIPE, adapterClass: 'gpu' }).graph)).toHaveLength(0);
    expect(pairs(optimize(g, {}).graph)).toHaveLength(0);
  });

  it('takes the depthwise conv whose output the first (1x1) conv alone reads into the pair, and leaves one read elsewhere too', () => {
    const g = parseGraph(gateless({ n: '2', w: '36' }));
    const fused = pairs(optimize(g, LAVAPIPE).graph);
    expect(fused).toHaveLength(1);
    expect(fused[0]!.outputs.map((o) => o.name)).toEqual(['1', '2', '4']);
    expectRoundTrip(optimize(g, LAVAPIPE).graph);
    const shared = parseGraph(gateless({ n: '2', w: '36' }).replace('  return %2, %4', '  %5 = global_avg_pool(%1) : f32[2,24,1,1] @webgpu\n  return %2, %4, %5').replace('-> (f32[2,8,6,36] @webgpu, f32[2,32,6,36] @webgpu)', '-> (f32[2,8,6,36] @webgpu, f32[2,32,6,36] @webgpu, f32[2,24,1,1] @webgpu)'));
    expect(pairs(optimize(shared, LAVAPIPE).graph).map((p) => p.outputs.length)).toEqual([2]);
  });

  it('leaves a pair whose first output a node before the second reads, or the second reads besides its conv', () => {
    const graph = (mid: string) => parseGraph(`graph g(%x: f32[1,8,2,8] @webgpu, %w1: f32[8,8,1,1] @webgpu, %w2: f32[8,8,1,1] @webgpu) -> (f32[1,8,2,8] @webgpu) {
  %0 = conv2d(%x, %w1) : f32[1,8,2,8] @webgpu
  %1 = ${mid}
  %2 = conv2d(%0, %w2) : f32[1,8,2,8] @webgpu
  %3 = add(%2, %1) : f32[1,8,2,8] @webgpu
  return %3
}
`);
    const paired = (mid: string) => pairs(optimize(graph(mid), LAVAPIPE).graph).length;
    // A pool runs before the second conv's kernel, which adds its result.
    expect(paired('global_avg_pool(%0) : f32[1,8,1,1] @webgpu')).toBe(0);
    // The sigmoid fuses into the second conv's epilogue, which then reads the first's output itself.
    expect(paired('sigmoid(%0) : f32[1,8,2,8] @webgpu')).toBe(0);
    expect(paired('sigmoid(%x) : f32[1,8,2,8] @webgpu')).toBe(1);
  });
});

describe('the kernel of a pair', () => {
  const kernels = (choose: CompileOptions['choose']) => compile(parseGraph(block({ n: '2', w: '36' })), { ...LAVAPIPE, choose }).dispatches.length;

  it("follows the chooser's conv_pair pick over its members' variants, else the rule that both take rowsg", () => {
    const signatures: string[] = [];
    // The members' own variants: 'direct' would break the rule, not a pick of 'pair'.
    expect(kernels((family, signature) => (family === 'conv_pair' ? (signatures.push(signature), 'pair') : family === 'conv' ? 'direct' : undefined))).toBe(1);
    expect(signatures[0]).toBe('f32:2x11x3x36->20x3x36:k1x1:s1x1:d1x1:p0,0,0,0+f32:2x20x3x36->13x3x36:k1x1:s1x1:d1x1:p0,0,0,0');
    expect(kernels((family) => (family === 'conv_pair' ? 'separate' : undefined))).toBe(2);
    expect(kernels((family) => (family === 'conv' ? 'direct' : undefined))).toBe(2);
    expect(kernels((family) => (family === 'conv' ? 'rowsg' : undefined))).toBe(1);
  });
});

describe('a pair of 1x1 convs agrees with the CPU reference', () => {
  const gpu = useGpu();

  /** `g` compiled with `opts` in `dispatches` dispatches agrees with the reference (`g` itself by default) at each of `envs`. */
  const expectAgrees = async (g: Graph, opts: CompileOptions, dispatches: number, envs: readonly Record<string, number>[] = [{}], tol = 1e-4, reference = g) => {
    const program = compile(g, opts);
    expect(program.dispatches).toHaveLength(dispatches);
    await expectProgramAgrees(gpu(), program, envs.map((env, i) => {
      const fixed = Object.keys(env).length ? instantiateGraph(reference, env) : reference;
      return { graph: fixed, inputs: randomInputs(fixed, 3 + i) };
    }), tol, tol);
  };

  it('as one kernel: batch 2, rows of 36, partial channel blocks', { timeout: 120_000 }, async () => {
    const program = compile(parseGraph(block({ n: '2', w: '36' })), LAVAPIPE);
    expect(program.dispatches.map((d) => program.kernels[d.kernel]!.name)).toEqual(['mul_conv2d_add_then_conv2d_add_clip_mul_div']);
    await expectAgrees(parseGraph(block({ n: '2', w: '36' })), LAVAPIPE, 1);
  });

  it('as one kernel where the first conv is alone (no bias, nothing fused) and its output is a residual later', { timeout: 120_000 }, async () => {
    const g = parseGraph(`graph g(%x: f32[1,24,6,96] @webgpu, %w1: f32[8,24,1,1] @webgpu, %w2: f32[32,8,1,1] @webgpu, %b2: f32[32] @webgpu, %w3: f32[8,32,1,1] @webgpu) -> (f32[1,8,6,96] @webgpu) {
  %0 = conv2d(%x, %w1) : f32[1,8,6,96] @webgpu
  %1 = conv2d(%0, %w2, %b2) : f32[1,32,6,96] @webgpu
  %2 = relu(%1) : f32[1,32,6,96] @webgpu
  %3 = conv2d(%2, %w3) : f32[1,8,6,96] @webgpu
  %4 = add(%3, %0) : f32[1,8,6,96] @webgpu
  return %4
}
`);
    const program = compile(g, LAVAPIPE);
    expect(program.dispatches.map((d) => program.kernels[d.kernel]!.name)).toEqual(['conv2d_then_conv2d_relu', 'conv2d_add']);
    await expectAgrees(g, LAVAPIPE, 2);
  });

  it('as one kernel where the first is a 3x3 conv of stride 2, padded (an RGB stem, then a 1x1 conv)', { timeout: 120_000 }, async () => {
    const g = parseGraph(`graph g(%x: f32[2,3,9,80] @webgpu, %w1: f32[8,3,3,3] @webgpu, %b1: f32[8] @webgpu, %w2: f32[12,8,1,1] @webgpu) -> (f32[2,12,5,40] @webgpu) {
  %0 = conv2d(%x, %w1, %b1) {stride = [2, 2], padding = [1, 1, 1, 1]} : f32[2,8,5,40] @webgpu
  %1 = relu(%0) : f32[2,8,5,40] @webgpu
  %2 = conv2d(%1, %w2) : f32[2,12,5,40] @webgpu
  return %2
}
`);
    const program = compile(g, LAVAPIPE);
    expect(program.dispatches.map((d) => program.kernels[d.kernel]!.name)).toEqual(['conv2d_relu_then_conv2d']);
    await expectAgrees(g, LAVAPIPE, 1);
  });

  it('as one kernel over a varying batch and width', { timeout: 120_000 }, async () => {
    const g = parseGraph(block({ n: 'N', w: '"4*W"', sizes: 'N: [1, 3], W: [1, 20]' }));
    await expectAgrees(g, LAVAPIPE, 1, [{ N: 3, W: 20 }, { N: 1, W: 1 }, { N: 2, W: 9 }]);
  });

  it('as one kernel with int8 weights', { timeout: 120_000 }, async () => {
    // Constant weights, which --weights int8 stores as int8 with a scale per output channel.
    const values = (n: number, seed: number) => Array.from({ length: n }, (_, i) => (((i * 37 + seed * 11) % 23) - 11) / 16).join(', ');
    const text = block({ n: '1', w: '40' })
      .replace(', %w1: f32[20,11,1,1] @webgpu', '').replace(', %w2: f32[13,20,1,1] @webgpu', '')
      .replace('  %0 = mul', `  %w1 = const() {value = [${values(220, 1)}]} : f32[20,11,1,1] @webgpu\n  %w2 = const() {value = [${values(260, 2)}]} : f32[13,20,1,1] @webgpu\n  %0 = mul`);
    const g = parseGraph(text);
    const int8 = { weights: 'int8', int8MinElements: 1 } as const;
    expect(optimize(g, { ...LAVAPIPE, ...int8 }).graph.nodes.some((n) => n.op === 'const' && n.output.type.dtype === 'u32')).toBe(true);
    // The reference dequantizes the same int8 weights.
    await expectAgrees(g, { ...LAVAPIPE, ...int8 }, 1, [{}], 1e-4, optimize(g, { pipeline: 'quantize-weights', ...int8 }).graph);
  });

  it('as one kernel in f16', { timeout: 120_000 }, async () => {
    // The tolerance of the f16 row kernels' own test: the reference rounds each op to f16.
    await expectAgrees(parseGraph(block({ n: '1', w: '32' }, 'f16')), LAVAPIPE, 1, [{}], 3e-2);
  });

  it('as two kernels where the adapter lacks subgroups or the rows are no multiple of 4', { timeout: 120_000 }, async () => {
    await expectAgrees(parseGraph(block({ n: '2', w: '36' })), { ...LAVAPIPE, adapterFeatures: [] }, 2);
    await expectAgrees(parseGraph(block({ n: '1', w: '37' })), LAVAPIPE, 2);
  });

  it('with the depthwise conv in front as one kernel: 3x3 of stride [2, 1], 5x5 with hardswish; a varying batch and width', { timeout: 120_000 }, async () => {
    const g = parseGraph(gateless({ n: '2', w: '36' }));
    const program = compile(g, LAVAPIPE);
    expect(program.dispatches.map((d) => program.kernels[d.kernel]!.name)).toEqual(['conv2d_relu_then_conv2d_then_conv2d_relu']);
    await expectAgrees(g, LAVAPIPE, 1);
    await expectAgrees(parseGraph(gateless({ n: '1', w: '40', window: 5, act: 'hardswish' })), LAVAPIPE, 1);
    await expectAgrees(parseGraph(gateless({ n: 'N', w: '"4*W"', sizes: 'N: [1, 3], W: [1, 12]' })), LAVAPIPE, 1, [{ N: 3, W: 12 }, { N: 1, W: 1 }, { N: 2, W: 5 }]);
  });

  it('with the depthwise conv in front in f16, and as three kernels where the conv after it has more channels than a pass', { timeout: 120_000 }, async () => {
    await expectAgrees(parseGraph(gateless({ n: '1', w: '32' }, 'f16')), LAVAPIPE, 1, [{}], 3e-2);
    await expectAgrees(parseGraph(gateless({ n: '2', w: '36', mid: 20 })), LAVAPIPE, 3);
  });
});
