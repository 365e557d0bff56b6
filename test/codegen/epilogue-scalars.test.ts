import { describe, expect, it } from 'vitest';
import { compile, optimize, type CompileOptions } from '../../src/compiler.js';
import { parseGraph } from '../../src/ir/parser.js';
import { instantiateGraph } from '../../src/ir/instantiate.js';
import { randomInputs } from '../../src/io/random-inputs.js';
import type { Graph } from '../../src/ir/graph.js';
import type { Program } from '../../src/runtime/program.js';
import { useGpu } from '../helpers/gpu.js';
import { expectProgramAgrees } from '../helpers/compare.js';

// One-element constants an anchor's epilogue reads (hardswish's 3 and 6, a learned scalar scale
// and shift, as in PP-OCRv4 rec's hardswish blocks) are passed in the kernel's uniform block, not
// bound as buffers, so they do not count against the 8 storage buffers a shader may bind. With
// int8 weights (two buffers each) such a conv otherwise outgrew the limit: compiling failed.

/**
 * A 3x3 conv (6 -> 8 channels) whose epilogue reads the residual %r, a learned scale and shift
 * ([1] each), two scalars ([]) and `extra` more full-size operands; [1, 6, 5, W] in.
 */
function convBlock(o: { extra?: number; dtype?: string; width?: string; sizes?: string } = {}): string {
  const { extra = 0, dtype = 'f32', width = '7', sizes } = o;
  const t = (s: string) => `${dtype}[${s}] @webgpu`;
  const weights = Array.from({ length: 8 * 6 * 9 }, (_, i) => (((i * 37) % 23) - 11) / 16).join(', ');
  const out = t(`1,8,5,${width}`);
  const extras = Array.from({ length: extra }, (_, k) => `, %e${k}: ${out}`).join('');
  const lines = [
    `  %w = const() {value = [${weights}]} : ${t('8,6,3,3')}`,
    `  %b = const() {value = [0.25, -0.5, 0.125, 1, -1, 0.5, 0, 2]} : ${t('8')}`,
    `  %three = const() {value = [3]} : ${t('')}`,
    `  %six = const() {value = [6]} : ${t('')}`,
    `  %s = const() {value = [0.75]} : ${t('1')}`,
    `  %d = const() {value = [-0.5]} : ${t('1')}`,
    `  %c = conv2d(%x, %w, %b) {padding = [1, 1, 1, 1]} : ${out}`,
    `  %a = add(%c, %r) : ${out}`,
    `  %m = mul(%a, %s) : ${out}`,
    `  %n = add(%m, %d) : ${out}`,
    `  %q = add(%n, %three) : ${out}`,
    `  %y0 = div(%q, %six) : ${out}`,
  ];
  for (let k = 0; k < extra; k++) lines.push(`  %y${k + 1} = add(%y${k}, %e${k}) : ${out}`);
  return `graph g(%x: ${t(`1,6,5,${width}`)}, %r: ${out}${extras}) -> (${out})${sizes ? ` sizes(${sizes})` : ''} {\n${lines.join('\n')}\n  return %y${extra}\n}\n`;
}

const INT8: CompileOptions = { weights: 'int8', int8MinElements: 1 };
const kernelsOf = (p: Program) => p.dispatches.map((d) => p.kernels[d.kernel]!);
const storageBindings = (wgsl: string) => (wgsl.match(/var<storage/g) ?? []).length;

describe('one-element constants in an epilogue', () => {
  const gpu = useGpu();
  /** The program agrees with the CPU reference of the graph (its int8 weights dequantized as the kernels do) at each size. */
  const expectAgrees = async (g: Graph, program: Program, opts: CompileOptions, envs: readonly Record<string, number>[] = [{}], tol = 1e-4) => {
    const reference = opts.weights === 'int8' ? optimize(g, { pipeline: 'quantize-weights', ...INT8 }).graph : g;
    await expectProgramAgrees(gpu(), program, envs.map((env, i) => {
      const fixed = Object.keys(env).length ? instantiateGraph(reference, env) : reference;
      return { graph: fixed, inputs: randomInputs(fixed, 3 + i) };
    }), tol, tol);
  };

  it('are passed as uniforms: the conv, its int8 weight and the whole epilogue are one kernel', { timeout: 60_000 }, async () => {
    const g = parseGraph(convBlock({ extra: 1 }));
    for (const opts of [{}, INT8]) {
      const program = compile(g, opts);
      const [conv, ...rest] = kernelsOf(program);
      expect(rest).toEqual([]);
      // x, the weight (values and scales under int8), the bias, %r, %e0 and the output.
      expect(storageBindings(conv!.wgsl)).toBe(opts === INT8 ? 7 : 6);
      expect(conv!.wgsl).toContain('bitcast<f32>(u.e');
      await expectAgrees(g, program, opts);
    }
  });

  it('in f16, as f16 values', { timeout: 60_000 }, async () => {
    const g = parseGraph(convBlock({ dtype: 'f16' }));
    const program = compile(g, {});
    expect(kernelsOf(program)).toHaveLength(1);
    expect(kernelsOf(program)[0]!.wgsl).toContain('f16(bitcast<f32>(u.e');
    await expectAgrees(g, program, {}, [{}], 2e-2);
  });

  it('past the limit anyway, the epilogue stops short: the conv still dequantizes its int8 weight as it loads', { timeout: 60_000 }, async () => {
    // Four more full-size operands: with the int8 weight's two buffers the conv would bind 9. The
    // weight's buffers are counted first, so the last add runs as a kernel of its own rather than
    // the weight being dequantized by one every run.
    const g = parseGraph(convBlock({ extra: 4 }));
    const program = compile(g, INT8);
    const names = kernelsOf(program).map((k) => k.name);
    expect(names).not.toContain('dequantize_int8');
    expect(names).toHaveLength(2);
    for (const k of kernelsOf(program)) expect(storageBindings(k.wgsl)).toBeLessThanOrEqual(8);
    await expectAgrees(g, program, INT8);
  });

  it('with int8 weights, over a varying width, from one program', { timeout: 60_000 }, async () => {
    const g = parseGraph(convBlock({ width: 'W', sizes: 'W: [1, 24]' }));
    const program = compile(g, INT8);
    expect(program.sizes?.map((s) => s.name)).toEqual(['W']);
    await expectAgrees(g, program, INT8, [{ W: 24 }, { W: 1 }, { W: 9 }]);
  });
});
