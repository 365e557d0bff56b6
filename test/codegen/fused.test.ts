import { describe, expect, it } from 'vitest';
import { parseGraph } from '../../src/ir/parser.js';
import { compile } from '../../src/compiler.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';
import { Session } from '../../src/runtime/session.js';
import { Random } from '../../src/frontend/torch/random.js';
import { useGpu } from '../helpers/gpu.js';
import { expectClose, randomData } from '../helpers/compare.js';
import { ir } from '../passes/helpers.js';
import { tensorData } from '../../src/ir/tensor-data.js';
import { fromF16Array, toF16Array } from '../../src/ir/f16.js';

/**
 * Runs IR text at -O0 and -O2 on the device; both must match the CPU reference and each other,
 * within `tol` (absolute and relative; f16 graphs need more, since kernels accumulate in f32
 * where the reference rounds every op to f16).
 */
async function checkFused(device: ReturnType<ReturnType<typeof useGpu>>, text: string, kernelsAtO2: number, tol = 1e-5) {
  const g = parseGraph(ir(text));
  const rng = new Random(11);
  const inputs = Object.fromEntries(g.inputs.map((v) => [v.name, randomData(v.type.dtype, v.type.shape, rng)]));
  const expected = runOnCpu(g, inputs);
  const results = [];
  let fused: ReturnType<typeof compile> | undefined;
  for (const pipeline of ['O0', 'O2']) {
    const program = compile(g, { pipeline, verifyEach: true });
    if (pipeline === 'O2') expect(program.dispatches.length).toBe(kernelsAtO2);
    if (pipeline === 'O2') fused = program;
    const s = await Session.create(device, program);
    try {
      results.push(await s.run(inputs));
    } finally {
      s.destroy();
    }
  }
  for (const v of g.outputs) {
    expectClose(results[1]![v.name]!, expected[v.name]!, tol, tol);
    expectClose(results[1]![v.name]!, results[0]![v.name]!, tol, 0);
  }
  return fused!;
}

describe('fused kernels on WebGPU', () => {
  const gpu = useGpu();

  it('matmul then a fused bias + gelu + residual chain', () => checkFused(gpu(), `
    graph g(%x: f32[5,7] @webgpu, %w: f32[7,9] @webgpu, %b: f32[9] @webgpu, %r: f32[5,9] @webgpu) -> (f32[5,9] @webgpu) {
      %0 = matmul(%x, %w) : f32[5,9] @webgpu
      %1 = add(%0, %b) : f32[5,9] @webgpu
      %2 = gelu(%1) : f32[5,9] @webgpu
      %3 = add(%2, %r) : f32[5,9] @webgpu
      return %3
    }`, 1));

  it('broadcasting inside the chain: a column scale, a scalar and a row', () => checkFused(gpu(), `
    graph g(%x: f32[3,1] @webgpu, %s: f32[] @webgpu, %y: f32[4,3,17] @webgpu) -> (f32[4,3,17] @webgpu) {
      %0 = mul(%x, %s) : f32[3,1] @webgpu
      %1 = sigmoid(%0) : f32[3,1] @webgpu
      %2 = mul(%y, %1) : f32[4,3,17] @webgpu
      %3 = tanh(%2) : f32[4,3,17] @webgpu
      return %3
    }`, 1));

  it('conv2d with bias, then a fused residual add and relu (direct and depthwise kernels)', async () => {
    await checkFused(gpu(), `
      graph g(%x: f32[2,3,9,11] @webgpu, %w: f32[5,3,3,3] @webgpu, %b: f32[5] @webgpu, %r: f32[2,5,9,11] @webgpu) -> (f32[2,5,9,11] @webgpu) {
        %0 = conv2d(%x, %w, %b) {padding = [1, 1, 1, 1]} : f32[2,5,9,11] @webgpu
        %1 = add(%0, %r) : f32[2,5,9,11] @webgpu
        %2 = relu(%1) : f32[2,5,9,11] @webgpu
        return %2
      }`, 1);
    await checkFused(gpu(), `
      graph g(%x: f32[1,6,7,7] @webgpu, %w: f32[6,1,3,3] @webgpu, %s: f32[6,1,1] @webgpu) -> (f32[1,6,5,5] @webgpu) {
        %0 = conv2d(%x, %w) {groups = 6} : f32[1,6,5,5] @webgpu
        %1 = mul(%0, %s) : f32[1,6,5,5] @webgpu
        %2 = hardswish(%1) : f32[1,6,5,5] @webgpu
        return %2
      }`, 1);
  });

  it('gemm with an epilogue reading a broadcast operand', () => checkFused(gpu(), `
    graph g(%a: f32[6,10] @webgpu, %b: f32[9,10] @webgpu, %c: f32[9] @webgpu, %s: f32[6,1] @webgpu) -> (f32[6,9] @webgpu) {
      %0 = gemm(%a, %b, %c) {trans_b = true, alpha = 0.5} : f32[6,9] @webgpu
      %1 = mul(%0, %s) : f32[6,9] @webgpu
      %2 = sigmoid(%1) : f32[6,9] @webgpu
      return %2
    }`, 1));

  it('conv2d + batch_norm + relu folds and fuses into one kernel with the same result', () => checkFused(gpu(), `
    graph g(%x: f32[1,2,5,5] @webgpu) -> (f32[1,2,5,5] @webgpu) {
      %w = const() {value = [0.5, -1, 2, 0.25, 1.5, -0.75, 0.1, 0.3]} : f32[2,2,1,2] @webgpu
      %scale = const() {value = [1.5, 0.7]} : f32[2] @webgpu
      %beta = const() {value = [0.2, -0.1]} : f32[2] @webgpu
      %mean = const() {value = [0.3, -0.4]} : f32[2] @webgpu
      %var = const() {value = [0.8, 2.5]} : f32[2] @webgpu
      %0 = conv2d(%x, %w) {padding = [0, 1, 0, 0]} : f32[1,2,5,5] @webgpu
      %1 = batch_norm(%0, %scale, %beta, %mean, %var) : f32[1,2,5,5] @webgpu
      %2 = relu(%1) : f32[1,2,5,5] @webgpu
      return %2
    }`, 1));

  it('conv_transpose2d with an epilogue: bias, residual add and relu; grouped, a per-channel add and sigmoid', async () => {
    await checkFused(gpu(), `
      graph g(%x: f32[2,3,5,6] @webgpu, %w: f32[3,4,3,3] @webgpu, %b: f32[4] @webgpu, %r: f32[2,4,10,12] @webgpu) -> (f32[2,4,10,12] @webgpu) {
        %0 = conv_transpose2d(%x, %w, %b) {stride = [2, 2], padding = [1, 1, 1, 1], output_padding = [1, 1]} : f32[2,4,10,12] @webgpu
        %1 = add(%0, %r) : f32[2,4,10,12] @webgpu
        %2 = relu(%1) : f32[2,4,10,12] @webgpu
        return %2
      }`, 1);
    await checkFused(gpu(), `
      graph g(%x: f32[1,4,5,5] @webgpu, %w: f32[4,3,2,2] @webgpu, %c: f32[1,6,1,1] @webgpu) -> (f32[1,6,10,10] @webgpu) {
        %0 = conv_transpose2d(%x, %w) {groups = 2, stride = [2, 2]} : f32[1,6,10,10] @webgpu
        %1 = add(%0, %c) : f32[1,6,10,10] @webgpu
        %2 = sigmoid(%1) : f32[1,6,10,10] @webgpu
        return %2
      }`, 1);
  });

  it('conv_transpose2d + bias add + batch_norm + relu (a segmentation head) folds and fuses into one kernel with the same result', () => checkFused(gpu(), `
    graph g(%x: f32[1,2,4,3] @webgpu) -> (f32[1,2,8,6] @webgpu) {
      %w = const() {value = [0.5, -1, 2, 0.25, 1.5, -0.75, 0.1, 0.3, -0.2, 0.9, 1.1, -0.4, 0.6, 0.8, -1.3, 0.7]} : f32[2,2,2,2] @webgpu
      %b = const() {value = [0.25, -0.5]} : f32[1,2,1,1] @webgpu
      %scale = const() {value = [1.5, 0.7]} : f32[2] @webgpu
      %beta = const() {value = [0.2, -0.1]} : f32[2] @webgpu
      %mean = const() {value = [0.3, -0.4]} : f32[2] @webgpu
      %var = const() {value = [0.8, 2.5]} : f32[2] @webgpu
      %0 = conv_transpose2d(%x, %w) {stride = [2, 2]} : f32[1,2,8,6] @webgpu
      %1 = add(%0, %b) : f32[1,2,8,6] @webgpu
      %2 = batch_norm(%1, %scale, %beta, %mean, %var) : f32[1,2,8,6] @webgpu
      %3 = relu(%2) : f32[1,2,8,6] @webgpu
      return %3
    }`, 1));

  it('matmul + bias + batch_norm + relu (Linear, BatchNorm1d, ReLU) folds and fuses into one kernel with the same result', () => checkFused(gpu(), `
    graph g(%x: f32[5,3] @webgpu) -> (f32[5,2] @webgpu) {
      %w = const() {value = [0.5, -1, 2, 0.25, 1.5, -0.75]} : f32[3,2] @webgpu
      %b = const() {value = [0.1, 0.3]} : f32[2] @webgpu
      %scale = const() {value = [1.5, 0.7]} : f32[2] @webgpu
      %beta = const() {value = [0.2, -0.1]} : f32[2] @webgpu
      %mean = const() {value = [0.3, -0.4]} : f32[2] @webgpu
      %var = const() {value = [0.8, 2.5]} : f32[2] @webgpu
      %0 = matmul(%x, %w) : f32[5,2] @webgpu
      %1 = add(%0, %b) : f32[5,2] @webgpu
      %2 = batch_norm(%1, %scale, %beta, %mean, %var) : f32[5,2] @webgpu
      %3 = relu(%2) : f32[5,2] @webgpu
      return %3
    }`, 1));

  it('a conv scales its input per channel as it reads it (the mul after an SE gate)', async () => {
    await checkFused(gpu(), `
      graph g(%x: f32[2,12,5,9] @webgpu, %s: f32[2,12,1,1] @webgpu, %w: f32[7,12,1,1] @webgpu, %b: f32[7] @webgpu, %r: f32[2,7,5,9] @webgpu) -> (f32[2,7,5,9] @webgpu) {
        %0 = mul(%x, %s) : f32[2,12,5,9] @webgpu
        %1 = conv2d(%0, %w, %b) : f32[2,7,5,9] @webgpu
        %2 = add(%1, %r) : f32[2,7,5,9] @webgpu
        return %2
      }`, 1);
    await checkFused(gpu(), `
      graph g(%x: f32[1,6,7,7] @webgpu, %s: f32[1,6,1,1] @webgpu, %w: f32[5,6,3,3] @webgpu) -> (f32[1,5,5,5] @webgpu) {
        %0 = mul(%s, %x) : f32[1,6,7,7] @webgpu
        %1 = conv2d(%0, %w) : f32[1,5,5,5] @webgpu
        return %1
      }`, 1);
  });

  it('softmax reads an f16 input being widened and writes f16 through its epilogue: one kernel', async () => {
    if (!gpu().features.has('shader-f16')) return;
    const g = parseGraph(ir(`
      graph g(%x: f16[6,37] @webgpu) -> (f16[6,37] @webgpu) {
        %0 = cast(%x) {to = "f32"} : f32[6,37] @webgpu
        %1 = softmax(%0) : f32[6,37] @webgpu
        %2 = cast(%1) {to = "f16"} : f16[6,37] @webgpu
        return %2
      }`));
    const program = compile(g);
    expect(program.dispatches).toHaveLength(1);
    const x = tensorData('f16', [6, 37], toF16Array(Array.from({ length: 222 }, (_, i) => Math.sin(i) * 4)));
    const s = await Session.create(gpu(), program);
    try {
      const widen = (t: { shape: readonly number[]; data: unknown }) => tensorData('f32', t.shape, fromF16Array(t.data as Uint16Array));
      expectClose(widen((await s.run({ x }))['2']!), widen(runOnCpu(g, { x })['2']!), 1e-3, 1e-2);
    } finally {
      s.destroy();
    }
  });

  it('reductions compute an elementwise prologue as they read and an epilogue on each result', async () => {
    // layer norm written out by hand, as older ONNX exports do: mean, sub, pow, mean, add, sqrt, div
    await checkFused(gpu(), `
      graph g(%x: f32[6,97] @webgpu, %y: f32[6,97] @webgpu, %s: f32[6] @webgpu) -> (f32[6] @webgpu) {
        %0 = mul(%x, %y) : f32[6,97] @webgpu
        %1 = gelu(%0) : f32[6,97] @webgpu
        %2 = mean(%1) {axes = [1]} : f32[6] @webgpu
        %3 = mul(%2, %s) : f32[6] @webgpu
        %4 = sqrt(%3) : f32[6] @webgpu
        return %4
      }`, 1);
    await checkFused(gpu(), `
      graph g(%x: f32[3,4000] @webgpu) -> (f32[3] @webgpu) {
        %0 = mul(%x, %x) : f32[3,4000] @webgpu
        %1 = sum(%0) {axes = [1]} : f32[3] @webgpu
        %2 = sqrt(%1) : f32[3] @webgpu
        return %2
      }`, 1);
  });

  it('a reduction\'s prologue reads operands broadcast to its input (a mask, a row, a column) at offsets of their own: one kernel each', async () => {
    // Masked mean pooling over a sequence (the mask one value a token), a weighted sum along the
    // last axis, the maxima of [x; -x] (max and -min in one pass), and reduced axes that are
    // not one run in a broadcast operand (its strides part at the broadcast axis).
    await checkFused(gpu(), `
      graph g(%x: f32[2,7,33] @webgpu, %m: f32[2,7,1] @webgpu, %w: f32[33] @webgpu, %v: f32[1,300] @webgpu, %s: f32[2,1] @webgpu, %n: f32[1,7,1] @webgpu) -> (f32[2,33] @webgpu, f32[2,7] @webgpu, f32[2] @webgpu, f32[33] @webgpu) {
        %0 = mul(%x, %m) : f32[2,7,33] @webgpu
        %1 = sum(%0) {axes = [1]} : f32[2,33] @webgpu
        %2 = sub(%x, %w) : f32[2,7,33] @webgpu
        %3 = mul(%2, %m) : f32[2,7,33] @webgpu
        %4 = sum(%3) {axes = [2]} : f32[2,7] @webgpu
        %5 = mul(%v, %s) : f32[2,300] @webgpu
        %6 = max(%5) {axes = [1]} : f32[2] @webgpu
        %7 = add(%x, %n) : f32[2,7,33] @webgpu
        %8 = max(%7) {axes = [0, 1]} : f32[33] @webgpu
        return %1, %4, %6, %8
      }`, 4);
  });

  it('reductions read their input through a view (a transpose, a slice) with an epilogue: one kernel each', async () => {
    await checkFused(gpu(), `
      graph g(%x: f32[5,6,7] @webgpu) -> (f32[7,5] @webgpu) {
        %0 = transpose(%x) {perm = [2,0,1]} : f32[7,5,6] @webgpu
        %1 = mean(%0) {axes = [2]} : f32[7,5] @webgpu
        %2 = tanh(%1) : f32[7,5] @webgpu
        return %2
      }`, 1);
    await checkFused(gpu(), `
      graph g(%x: i32[4,9] @webgpu) -> (i32[4] @webgpu) {
        %0 = slice(%x) {starts = [2], ends = [8], axes = [1], steps = [1]} : i32[4,6] @webgpu
        %1 = sum(%0) {axes = [1]} : i32[4] @webgpu
        return %1
      }`, 1);
  });

  // A KV cache: the past keys, then the new token's, read from its projection through a view.
  // Four elements an invocation where every part's rows are contiguous and aligned, one where a
  // part's offset is not a multiple of 4, the unravelling loop where a part is transposed.
  const kv = (from: number, to: number) => `
    graph g(%past: f32[1,2,5,8] @webgpu, %qkv: f32[1,2,1,24] @webgpu) -> (f32[1,2,6,8] @webgpu) {
      %0 = slice(%qkv) {starts = [${from}], ends = [${to}], axes = [3], steps = [1]} : f32[1,2,1,8] @webgpu
      %1 = concat(%past, %0) {axis = 2} : f32[1,2,6,8] @webgpu
      return %1
    }`;
  it('concat reads a KV cache and the new token through a view, four elements an invocation where aligned', async () => {
    const wgsl = async (text: string) => (await checkFused(gpu(), text, 1, 0)).kernels[0]!.wgsl;
    expect(await wgsl(kv(8, 16))).toMatch(/dst: array<vec4<u32>>[^]*u\.inner/);
    expect(await wgsl(kv(7, 15))).toMatch(/dst: array<u32>[^]*u\.inner/);
    const transposed = await wgsl(`
      graph g(%a: f32[2,3,4] @webgpu, %b: f32[2,4,3] @webgpu) -> (f32[4,3,4] @webgpu) {
        %0 = transpose(%b) {perm = [0, 2, 1]} : f32[2,3,4] @webgpu
        %1 = concat(%a, %0) {axis = 0} : f32[4,3,4] @webgpu
        return %1
      }`);
    expect(transposed).not.toMatch(/u\.inner/);
  });

  describe('under f16 the same kernels as under f32', () => {
    const f16 = () => gpu().features.has('shader-f16');

    it('a squeeze-and-excitation gate, then a conv scaling its input by the gate as it reads it: two kernels', async () => {
      if (!f16()) return;
      await checkFused(gpu(), `
        graph g(%x: f16[2,37,5,7] @webgpu, %w1: f16[9,37,1,1] @webgpu, %b1: f16[9] @webgpu, %w2: f16[37,9,1,1] @webgpu, %w3: f16[8,37,1,1] @webgpu) -> (f16[2,8,5,7] @webgpu) {
          %0 = global_avg_pool(%x) : f16[2,37,1,1] @webgpu
          %1 = conv2d(%0, %w1, %b1) : f16[2,9,1,1] @webgpu
          %2 = relu(%1) : f16[2,9,1,1] @webgpu
          %3 = conv2d(%2, %w2) : f16[2,37,1,1] @webgpu
          %4 = hardsigmoid(%3) : f16[2,37,1,1] @webgpu
          %5 = mul(%x, %4) : f16[2,37,5,7] @webgpu
          %6 = conv2d(%5, %w3) : f16[2,8,5,7] @webgpu
          return %6
        }`, 2, 3e-2);
    });

    it('convs read an f32 graph input and narrow it as they load: no f16 copy, one kernel each', async () => {
      if (!f16()) return;
      await checkFused(gpu(), `
        graph g(%x: f32[2,4,6,7] @webgpu, %w1: f16[3,4,1,1] @webgpu, %w2: f16[4,1,3,3] @webgpu) -> (f16[2,3,6,7] @webgpu, f16[2,4,6,7] @webgpu) {
          %0 = cast(%x) {to = "f16"} : f16[2,4,6,7] @webgpu
          %1 = conv2d(%0, %w1) : f16[2,3,6,7] @webgpu
          %2 = conv2d(%0, %w2) {groups = 4, padding = [1, 1, 1, 1]} : f16[2,4,6,7] @webgpu
          return %1, %2
        }`, 2, 2e-2);
    });

    it('concat, channel shuffle and the cast back to f32 of a graph output: one kernel, exact', async () => {
      if (!f16()) return;
      await checkFused(gpu(), `
        graph g(%a: f16[2,3,4,5] @webgpu, %b: f16[2,3,4,5] @webgpu) -> (f32[2,6,4,5] @webgpu) {
          %0 = concat(%a, %b) {axis = 1} : f16[2,6,4,5] @webgpu
          %1 = channel_shuffle(%0) {groups = 2} : f16[2,6,4,5] @webgpu
          %2 = cast(%1) {to = "f32"} : f32[2,6,4,5] @webgpu
          return %2
        }`, 1, 0);
    });

    it('a chain that computes in f16 between integer operands and an f32 output enables f16', async () => {
      if (!f16()) return;
      await checkFused(gpu(), `
        graph g(%a: i32[3,1] @webgpu, %b: i32[1,4] @webgpu) -> (f32[3,4] @webgpu) {
          %0 = equal(%a, %b) : bool[3,4] @webgpu
          %1 = cast(%0) {to = "f16"} : f16[3,4] @webgpu
          %2 = cast(%1) {to = "f32"} : f32[3,4] @webgpu
          return %2
        }`, 1, 0);
    });
  });

  // Planes a multiple of 4 long are summed four elements a load.
  for (const [h, w, what] of [[5, 7, ''], [4, 6, ' over planes a multiple of 4 long']] as const) {
    it(`a squeeze-and-excitation gate${what} runs as one kernel`, () => checkFused(gpu(), `
    graph g(%x: f32[2,37,${h},${w}] @webgpu, %w1: f32[9,37,1,1] @webgpu, %b1: f32[9] @webgpu, %w2: f32[37,9,1,1] @webgpu) -> (f32[2,37,1,1] @webgpu) {
      %0 = global_avg_pool(%x) : f32[2,37,1,1] @webgpu
      %1 = conv2d(%0, %w1, %b1) : f32[2,9,1,1] @webgpu
      %2 = relu(%1) : f32[2,9,1,1] @webgpu
      %3 = conv2d(%2, %w2) : f32[2,37,1,1] @webgpu
      %4 = hardsigmoid(%3) : f32[2,37,1,1] @webgpu
      return %4
    }`, 1));
  }

  it('a chain with a comparison and where', () => checkFused(gpu(), `
    graph g(%x: f32[33] @webgpu, %y: f32[33] @webgpu) -> (f32[33] @webgpu) {
      %0 = greater(%x, %y) : bool[33] @webgpu
      %1 = exp(%x) : f32[33] @webgpu
      %2 = where(%0, %1, %y) : f32[33] @webgpu
      return %2
    }`, 1));
});

describe('fused bodies edited by hand', () => {
  it("a body recorded for the 'squeeze_excite' kernel that is not such a gate is refused, naming the node", () => {
    const g = parseGraph(`graph g(%x: f32[2,3] @webgpu, %w: f32[3,4] @webgpu, %b: f32[4] @webgpu) -> (f32[2,4] @webgpu) {
  %5 = fused(%x, %w, %b) {body = graph squeeze_excite(%x: f32[2,3] @webgpu, %w: f32[3,4] @webgpu, %b: f32[4] @webgpu) -> (f32[2,4] @webgpu) {
      %2 = matmul(%x, %w) : f32[2,4] @webgpu
      %4 = add(%2, %b) : f32[2,4] @webgpu
      return %4
    }, kernel = "squeeze_excite"} : f32[2,4] @webgpu
  return %5
}`);
    expect(() => compile(g, { pipeline: 'O0' })).toThrow(/fused node %5: its body is not the squeeze-and-excitation gate its kernel 'squeeze_excite' computes: it does not start with a global_avg_pool/);
  });

  const matmulBias = (attrs: string) => parseGraph(`graph g(%x: f32[2,3] @webgpu, %w: f32[3,4] @webgpu, %b: f32[4] @webgpu) -> (f32[2,4] @webgpu) {
  %5 = fused(%x, %w, %b) {body = graph matmul_add(%x: f32[2,3] @webgpu, %w: f32[3,4] @webgpu, %b: f32[4] @webgpu) -> (f32[2,4] @webgpu) {
      %2 = matmul(%x, %w) : f32[2,4] @webgpu
      %4 = add(%2, %b) : f32[2,4] @webgpu
      return %4
    }${attrs}} : f32[2,4] @webgpu
  return %5
}`);

  it('a hand-edited body whose kernel would bind more than 8 storage buffers is refused, naming the node', () => {
    const names = Array.from({ length: 8 }, (_, i) => `%e${i}`);
    const params = names.map((n) => `${n}: f32[2,4] @webgpu`).join(', ');
    const adds = names.map((n, i) => `      %a${i} = add(${i === 0 ? '%2' : `%a${i - 1}`}, ${n}) : f32[2,4] @webgpu`).join('\n');
    const g = parseGraph(`graph g(%x: f32[2,3] @webgpu, %w: f32[3,4] @webgpu, ${params}) -> (f32[2,4] @webgpu) {
  %5 = fused(%x, %w, ${names.join(', ')}) {body = graph matmul_adds(%x: f32[2,3] @webgpu, %w: f32[3,4] @webgpu, ${params}) -> (f32[2,4] @webgpu) {
      %2 = matmul(%x, %w) : f32[2,4] @webgpu
${adds}
      return %a7
    }, anchor = 0, reads = "plain,plain"} : f32[2,4] @webgpu
  return %5
}`);
    expect(() => compile(g, { pipeline: 'O0' })).toThrow(/node %5 \(fused\): its kernel would bind more than the 8 storage buffers/);
  });

  it('a body with an anchor but no anchor recorded is refused, naming the node and the anchor', () => {
    expect(() => compile(matmulBias(''), { pipeline: 'O0' })).toThrow(/fused node %5: it records no anchor, so its body must be an elementwise chain, but %2 is matmul/);
  });

  it('reads that do not match the body are refused, naming the node and the operand', () => {
    expect(() => compile(matmulBias(', anchor = 0, reads = "plain,convert"'), { pipeline: 'O0' }))
      .toThrow(/fused node %5: its anchor's operand %w is recorded as a 'convert' read, but it is not made by a plain cast/);
    expect(() => matmulBias(', anchor = 0, reads = "plain"')).toThrow(/reads "plain" must name one of plain, view, convert, scale, chain, dequantize for each of the anchor matmul's 2 operands/);
  });

  it('the recorded reads and anchor are what lowering follows: the same body lowers the same with them written by hand', () => {
    const program = compile(matmulBias(', anchor = 0, reads = "plain,plain"'), { pipeline: 'O0' });
    expect(program.dispatches.map((d) => d.label)).toEqual(['matmul_add -> %5']);
  });
});
