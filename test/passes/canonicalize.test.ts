import { describe, expect, it } from 'vitest';
import { passContext } from '../../src/compiler.js';
import { parseGraph } from '../../src/ir/parser.js';
import { randomInputs } from '../../src/io/random-inputs.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';
import { runPasses } from '../../src/passes/manager.js';
import { expectClose } from '../helpers/compare.js';
import { commonSubexpressionElimination } from '../../src/passes/cse.js';
import { deadCodeElimination } from '../../src/passes/dce.js';
import { foldConstants } from '../../src/passes/fold-constants.js';
import { simplify } from '../../src/passes/simplify.js';
import { expectPass, ir } from './helpers.js';

describe('dce', () => {
  it('removes nodes whose results are unused, keeping the rest in order', () => {
    expectPass(deadCodeElimination, `
      graph g(%x: f32[4] @webgpu) -> (f32[4] @webgpu) {
        %0 = relu(%x) : f32[4] @webgpu
        %1 = neg(%x) : f32[4] @webgpu
        %2 = add(%1, %1) : f32[4] @webgpu
        return %0
      }`, `
      graph g(%x: f32[4] @webgpu) -> (f32[4] @webgpu) {
        %0 = relu(%x) : f32[4] @webgpu
        return %0
      }`);
  });
});

describe('cse', () => {
  it('merges identical nodes and identical small constants', () => {
    expectPass(commonSubexpressionElimination, `
      graph g(%x: f32[2] @webgpu) -> (f32[2] @webgpu) {
        %a = const() {value = [1, 2]} : f32[2] @webgpu
        %b = const() {value = [1, 2]} : f32[2] @webgpu
        %0 = add(%x, %a) : f32[2] @webgpu
        %1 = add(%x, %b) : f32[2] @webgpu
        %2 = mul(%0, %1) : f32[2] @webgpu
        return %2
      }`, `
      graph g(%x: f32[2] @webgpu) -> (f32[2] @webgpu) {
        %a = const() {value = [1, 2]} : f32[2] @webgpu
        %0 = add(%x, %a) : f32[2] @webgpu
        %2 = mul(%0, %0) : f32[2] @webgpu
        return %2
      }`);
  });
  it('keeps nodes that differ in attributes', () => {
    const text = `
      graph g(%x: f32[2,3] @webgpu) -> (f32[2] @webgpu, f32[3] @webgpu) {
        %0 = sum(%x) {axes = [1]} : f32[2] @webgpu
        %1 = sum(%x) {axes = [0]} : f32[3] @webgpu
        return %0, %1
      }`;
    expectPass(commonSubexpressionElimination, text, text);
  });
});

describe('fold-constants', () => {
  it('evaluates the transpose of a constant weight', () => {
    expectPass(foldConstants, `
      graph g(%x: f32[1,2] @webgpu) -> (f32[1,3] @webgpu) {
        %w = const() {value = [1, 2, 3, 4, 5, 6]} : f32[3,2] @webgpu
        %wt = transpose(%w) : f32[2,3] @webgpu
        %y = matmul(%x, %wt) : f32[1,3] @webgpu
        return %y
      }`, `
      graph g(%x: f32[1,2] @webgpu) -> (f32[1,3] @webgpu) {
        %w = const() {value = [1, 2, 3, 4, 5, 6]} : f32[3,2] @webgpu
        %0 = const() {value = [1, 3, 5, 2, 4, 6]} : f32[2,3] @webgpu
        %y = matmul(%x, %0) : f32[1,3] @webgpu
        return %y
      }`);
  });
  it('folds a chain, leaving refs without data alone', () => {
    expectPass(foldConstants, `
      graph g(%x: f32[2] @webgpu) -> (f32[2] @webgpu) {
        %a = const() {value = [1, 2]} : f32[2] @webgpu
        %b = const() {value = [10, 20]} : f32[2] @webgpu
        %w = const() {ref = "w"} : f32[2] @webgpu
        %0 = mul(%a, %b) : f32[2] @webgpu
        %1 = add(%0, %a) : f32[2] @webgpu
        %2 = add(%w, %1) : f32[2] @webgpu
        %3 = add(%x, %2) : f32[2] @webgpu
        return %3
      }`, `
      graph g(%x: f32[2] @webgpu) -> (f32[2] @webgpu) {
        %a = const() {value = [1, 2]} : f32[2] @webgpu
        %b = const() {value = [10, 20]} : f32[2] @webgpu
        %w = const() {ref = "w"} : f32[2] @webgpu
        %4 = const() {value = [10, 40]} : f32[2] @webgpu
        %5 = const() {value = [11, 42]} : f32[2] @webgpu
        %2 = add(%w, %5) : f32[2] @webgpu
        %3 = add(%x, %2) : f32[2] @webgpu
        return %3
      }`);
  });
});

describe('simplify', () => {
  it('removes x*1, x+0, x-0 and x/1 when broadcasting keeps the type', () => {
    expectPass(simplify, `
      graph g(%x: f32[2,2] @webgpu) -> (f32[2,2] @webgpu) {
        %one = const() {value = [1, 1]} : f32[2] @webgpu
        %zero = const() {value = [0]} : f32[1] @webgpu
        %0 = mul(%x, %one) : f32[2,2] @webgpu
        %1 = add(%zero, %0) : f32[2,2] @webgpu
        %2 = sub(%1, %zero) : f32[2,2] @webgpu
        %3 = div(%2, %one) : f32[2,2] @webgpu
        %4 = relu(%3) : f32[2,2] @webgpu
        return %4
      }`, `
      graph g(%x: f32[2,2] @webgpu) -> (f32[2,2] @webgpu) {
        %one = const() {value = [1, 1]} : f32[2] @webgpu
        %zero = const() {value = [0]} : f32[1] @webgpu
        %4 = relu(%x) : f32[2,2] @webgpu
        return %4
      }`);
  });
  it('keeps x*1 when the constant broadcasts x to a larger shape', () => {
    const text = `
      graph g(%x: f32[2] @webgpu) -> (f32[3,2] @webgpu) {
        %one = const() {value = [1, 1, 1, 1, 1, 1]} : f32[3,2] @webgpu
        %0 = mul(%x, %one) : f32[3,2] @webgpu
        return %0
      }`;
    expectPass(simplify, text, text);
  });
  it('cancels a double transpose and composes non-inverse ones (an output that becomes the input is a copy of it, keeping its name)', () => {
    expectPass(simplify, `
      graph g(%x: f32[2,3,4] @webgpu) -> (f32[2,3,4] @webgpu, f32[3,2,4] @webgpu) {
        %0 = transpose(%x) {perm = [1, 2, 0]} : f32[3,4,2] @webgpu
        %1 = transpose(%0) {perm = [2, 0, 1]} : f32[2,3,4] @webgpu
        %2 = transpose(%0) {perm = [0, 2, 1]} : f32[3,2,4] @webgpu
        return %1, %2
      }`, `
      graph g(%x: f32[2,3,4] @webgpu) -> (f32[2,3,4] @webgpu, f32[3,2,4] @webgpu) {
        %0 = transpose(%x) {perm = [1, 2, 0]} : f32[3,4,2] @webgpu
        %2 = transpose(%x) {perm = [1, 0, 2]} : f32[3,2,4] @webgpu
        %1 = cast(%x) {to = "f32"} : f32[2,3,4] @webgpu
        return %1, %2
      }`);
  });
  it('keeps every output name when outputs collapse onto an input or onto each other', () => {
    expectPass(simplify, `
      graph g(%x: f32[2] @webgpu) -> (f32[2] @webgpu, f32[2] @webgpu, f32[2] @webgpu) {
        %one = const() {value = [1, 1]} : f32[2] @webgpu
        %a = mul(%x, %one) : f32[2] @webgpu
        %r = relu(%x) : f32[2] @webgpu
        %b = mul(%r, %one) : f32[2] @webgpu
        %c = div(%r, %one) : f32[2] @webgpu
        return %a, %b, %c
      }`, `
      graph g(%x: f32[2] @webgpu) -> (f32[2] @webgpu, f32[2] @webgpu, f32[2] @webgpu) {
        %one = const() {value = [1, 1]} : f32[2] @webgpu
        %b = relu(%x) : f32[2] @webgpu
        %a = cast(%x) {to = "f32"} : f32[2] @webgpu
        %c = cast(%b) {to = "f32"} : f32[2] @webgpu
        return %a, %b, %c
      }`);
  });
  it('merges reshape of reshape and drops a reshape to the same shape', () => {
    expectPass(simplify, `
      graph g(%x: f32[2,6] @webgpu) -> (f32[3,4] @webgpu, f32[2,6] @webgpu) {
        %0 = reshape(%x) {shape = [12]} : f32[12] @webgpu
        %1 = reshape(%0) {shape = [3, 4]} : f32[3,4] @webgpu
        %2 = reshape(%x) {shape = [2, 6]} : f32[2,6] @webgpu
        %3 = relu(%2) : f32[2,6] @webgpu
        return %1, %3
      }`, `
      graph g(%x: f32[2,6] @webgpu) -> (f32[3,4] @webgpu, f32[2,6] @webgpu) {
        %0 = reshape(%x) {shape = [12]} : f32[12] @webgpu
        %1 = reshape(%x) {shape = [3, 4]} : f32[3,4] @webgpu
        %3 = relu(%x) : f32[2,6] @webgpu
        return %1, %3
      }`);
  });
  it('makes an adaptive average pool to 1x1 a global_avg_pool, and leaves other sizes', () => {
    expectPass(simplify, `
      graph g(%x: f32[2,3,5,7] @webgpu) -> (f32[2,3,1,1] @webgpu, f32[2,3,2,1] @webgpu) {
        %0 = adaptive_avg_pool2d(%x) {output_size = [1, 1]} : f32[2,3,1,1] @webgpu
        %1 = adaptive_avg_pool2d(%x) {output_size = [2, 1]} : f32[2,3,2,1] @webgpu
        return %0, %1
      }`, `
      graph g(%x: f32[2,3,5,7] @webgpu) -> (f32[2,3,1,1] @webgpu, f32[2,3,2,1] @webgpu) {
        %0 = global_avg_pool(%x) : f32[2,3,1,1] @webgpu
        %1 = adaptive_avg_pool2d(%x) {output_size = [2, 1]} : f32[2,3,2,1] @webgpu
        return %0, %1
      }`);
  });

  /** A layer norm over the last `axes` of x [2, 3, 4], spelt out as ONNX exports before opset 17 write it. */
  const spelled = (o: { axes?: string; square?: 'pow' | 'mul'; of?: string; eps?: string } = {}) => {
    const { axes = '[-1]', square = 'pow', of = '%d', eps = 'const() {value = [0.00001]} : f32[] @webgpu' } = o;
    const kept = axes === '[-1]' ? '2,3,1' : '2,1,1';
    return `
      graph g(%x: f32[2,3,4] @webgpu, %w: f32[4] @webgpu, %b: f32[4] @webgpu${eps.startsWith('%') ? ', %e: f32[] @webgpu' : ''}) -> (f32[2,3,4] @webgpu) {
        %m = mean(%x) {axes = ${axes}, keepdims = true} : f32[${kept}] @webgpu
        %d = sub(%x, %m) : f32[2,3,4] @webgpu
        %two = const() {value = [2]} : f32[] @webgpu
        %p = ${square === 'pow' ? `pow(${of}, %two)` : `mul(${of}, ${of})`} : f32[2,3,4] @webgpu
        %v = mean(%p) {axes = ${axes}, keepdims = true} : f32[${kept}] @webgpu
        ${eps.startsWith('%') ? '' : `%e = ${eps}`}
        %a = add(%e, %v) : f32[${kept}] @webgpu
        %s = sqrt(%a) : f32[${kept}] @webgpu
        %n = div(%d, %s) : f32[2,3,4] @webgpu
        %y = mul(%n, %w) : f32[2,3,4] @webgpu
        %z = add(%y, %b) : f32[2,3,4] @webgpu
        return %z
      }`;
  };
  const simplified = (text: string) => runPasses(parseGraph(ir(text)), [simplify, deadCodeElimination], passContext(), { verifyEach: true }).graph;

  it('makes a layer norm spelt out in means, a power (or a product) and a square root a layer_norm, and computes the same', () => {
    for (const [o, axis] of [[{}, -1], [{ square: 'mul' as const }, -1], [{ axes: '[1, 2]' }, 1]] as const) {
      const g = simplified(spelled(o));
      expect(g.nodes.map((n) => n.op)).toEqual(['layer_norm', 'mul', 'add']);
      expect(g.nodes[0]!.attrs).toEqual({ axis: axis === -1 ? 2 : axis, epsilon: Math.fround(0.00001) });
      const original = parseGraph(ir(spelled(o)));
      const inputs = randomInputs(original, 7);
      expectClose(runOnCpu(g, inputs)['z']!, runOnCpu(original, inputs)['z']!, 1e-5, 1e-5);
    }
  });

  it('leaves what only looks like one: the square of x rather than of x - mean(x), an epsilon that is no constant', () => {
    for (const o of [{ of: '%x' }, { eps: '%e' }]) expect(simplified(spelled(o)).nodes.some((n) => n.op === 'layer_norm')).toBe(false);
  });

  /** GELU spelt out over x [2, 8]: PyTorch's export (x * (1 + erf(x / sqrt 2))) * 0.5, or (x * 0.5) * (1 + erf(x * (1 / sqrt 2))). */
  const gelu = (o: { form: 'torch' | 'half-first'; half?: number; erfOf?: string }) => {
    const { half = 0.5, erfOf = '%x' } = o;
    const scaled = o.form === 'torch' ? `div(${erfOf}, %r2)` : `mul(%ir2, ${erfOf})`;
    const tail = o.form === 'torch'
      ? `%p = mul(%x, %q) : f32[2,8] @webgpu
        %y = mul(%p, %h) : f32[2,8] @webgpu`
      : `%p = mul(%h, %x) : f32[2,8] @webgpu
        %y = mul(%q, %p) : f32[2,8] @webgpu`;
    return `
      graph g(%x: f32[2,8] @webgpu, %z: f32[2,8] @webgpu) -> (f32[2,8] @webgpu) {
        %r2 = const() {value = [1.4142135]} : f32[] @webgpu
        %ir2 = const() {value = [0.70710677]} : f32[] @webgpu
        %one = const() {value = [1]} : f32[] @webgpu
        %h = const() {value = [${half}]} : f32[] @webgpu
        %s = ${scaled} : f32[2,8] @webgpu
        %e = erf(%s) : f32[2,8] @webgpu
        %q = add(%one, %e) : f32[2,8] @webgpu
        ${tail}
        return %y
      }`;
  };

  it('makes a GELU spelt out in erf, products and a sum a gelu, in either spelling, and computes the same', () => {
    for (const form of ['torch', 'half-first'] as const) {
      const g = simplified(gelu({ form }));
      expect(g.nodes.map((n) => n.op)).toEqual(['gelu']);
      const original = parseGraph(ir(gelu({ form })));
      const inputs = randomInputs(original, 3);
      expectClose(runOnCpu(g, inputs)['y']!, runOnCpu(original, inputs)['y']!, 1e-6, 1e-6);
    }
  });

  it('leaves a GELU look-alike: another factor than 0.5, the erf of another tensor', () => {
    for (const o of [{ form: 'torch' as const, half: 0.6 }, { form: 'half-first' as const, erfOf: '%z' }]) {
      expect(simplified(gelu(o)).nodes.some((n) => n.op === 'gelu')).toBe(false);
    }
  });
});

