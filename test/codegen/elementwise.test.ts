import { describe, expect, it } from 'vitest';
import type { Attrs } from '../../src/ir/attrs.js';
import { fromF16Array, toF16Array } from '../../src/ir/f16.js';
import { Graph, type Value } from '../../src/ir/graph.js';
import { erf } from '../../src/ir/ops/erf.js';
import { tensorData, type TensorData } from '../../src/ir/tensor-data.js';
import { isFloat, numel, type DType, type Shape } from '../../src/ir/types.js';
import { Random } from '../../src/frontend/torch/random.js';
import { lowerNode } from '../../src/codegen/lower/index.js';
import {
  ERF_LARGE_COEFFS, ERF_ONE, ERF_SMALL_COEFFS, ERF_SMALL_LIMIT, wgslHelperDecls,
} from '../../src/codegen/kernels/wgsl-math.js';
import { useGpu } from '../helpers/gpu.js';
import { expectClose, runBoth } from '../helpers/compare.js';
import { compile } from '../../src/compiler.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';
import { Session } from '../../src/runtime/session.js';
import { expectRoundTrip } from '../ir/roundtrip.js';

// Tolerances against the CPU reference (which computes in double, then rounds to f32): integer
// and bool results must match exactly; for float results, exact-ish ops (arithmetic, clip, comparisons, casts) get atol 1e-6 rtol 1e-5 only because
// `/` in WGSL is allowed 2.5 ulp; transcendental ops get atol 1e-6 rtol 1e-5 as well, which
// WGSL's exp/log/tanh accuracy (a few ulp) meets; erf is also checked at atol 2e-7 (~3 ulp of 1).
const TOL = { atol: 1e-6, rtol: 1e-5 };

type Gen = (rng: Random) => number;
const normal: Gen = (r) => r.normal();
const positive: Gen = (r) => r.uniform(0.01, 10);
const wide: Gen = (r) => 3 * r.normal();
/** Values on a coarse grid, so that comparisons see ties. */
const coarse: Gen = (r) => Math.round(2 * r.normal()) / 2;
const coin: Gen = (r) => (r.next() < 0.5 ? 1 : 0);
const smallInt: Gen = (r) => Math.floor(r.uniform(-50, 50));
const smallUint: Gen = (r) => Math.floor(r.uniform(0, 100));

interface Operand { readonly dtype?: DType; readonly shape: Shape; readonly gen?: Gen }
interface OpCase { readonly op: string; readonly attrs?: Attrs; readonly label?: string }

function hostData(dtype: DType, shape: Shape, gen: Gen, rng: Random): TensorData {
  const values = Array.from({ length: numel(shape) }, () => gen(rng));
  return dtype === 'f16' ? tensorData('f16', shape, toF16Array(values)) : tensorData(dtype, shape, values);
}

function defaultGen(dtype: DType): Gen {
  return dtype === 'bool' ? coin : dtype === 'i32' ? smallInt : dtype === 'u32' ? smallUint : normal;
}

/**
 * One graph applying every case to the same operands (one session for all of them), run on the
 * device and on the CPU reference, compared output by output.
 */
async function check(device: ReturnType<ReturnType<typeof useGpu>>, cases: readonly OpCase[], operands: readonly Operand[], tol = TOL, seed = 1) {
  const g = new Graph('elementwise');
  const ins = operands.map((o, i) => g.addInput(`x${i}`, { dtype: o.dtype ?? 'f32', shape: o.shape, device: 'webgpu' }));
  const outs: [string, Value][] = cases.map((c) => [c.label ?? c.op, g.addNode(c.op, ins, c.attrs ?? {}).output]);
  g.setOutputs(outs.map(([, v]) => v));
  expectRoundTrip(g);
  const rng = new Random(seed);
  const inputs = Object.fromEntries(operands.map((o, i) => {
    const dtype = o.dtype ?? 'f32';
    return [`x${i}`, hostData(dtype, o.shape, o.gen ?? defaultGen(dtype), rng)];
  }));
  const { gpu, cpu } = await runBoth(device, g, inputs);
  for (const [label, v] of outs) {
    try {
      // Integer and bool results have no rounding to excuse: they must match exactly.
      const exact = !isFloat(v.type.dtype);
      expectClose(gpu[v.name]!, cpu[v.name]!, exact ? 0 : tol.atol, exact ? 0 : tol.rtol);
    } catch (e) {
      throw new Error(`${label} on ${operands.map((o) => `${o.dtype ?? 'f32'}[${o.shape.join(',')}]`).join(', ')}: ${(e as Error).message}`);
    }
  }
}

const unary = (...ops: string[]): OpCase[] => ops.map((op) => ({ op }));

// ---------------------------------------------------------------------------------------------
// Host-only checks of the emitted WGSL

/** The f32 algorithm of kiln_erf_f32, each operation rounded to f32 (no fused multiply-add). */
function erfF32Emulated(x: number): number {
  const f = Math.fround;
  const horner = (c: readonly number[], v: number) => {
    let acc = f(c[c.length - 1]!);
    for (let i = c.length - 2; i >= 0; i--) acc = f(f(c[i]!) + f(v * acc));
    return acc;
  };
  x = f(x);
  const a = Math.abs(x);
  if (a < ERF_SMALL_LIMIT) return f(x + f(x * horner(ERF_SMALL_COEFFS, f(x * x))));
  if (a >= ERF_ONE) return x >= 0 ? 1 : -1;
  const q = horner(ERF_LARGE_COEFFS, f(1 / a));
  const r = f(1 - f(f(Math.exp(f(-f(a * a)))) * q));
  return x >= 0 ? r : -r;
}

describe('WGSL math library (host checks)', () => {
  it('the f32 erf algorithm is within 1e-7 of erf everywhere (dense grid over [-6, 6])', () => {
    let worst = 0;
    let at = 0;
    for (let i = 0; i <= 240_000; i++) {
      const x = Math.fround(-6 + i * 5e-5);
      const err = Math.abs(erfF32Emulated(x) - erf(x));
      if (err > worst) { worst = err; at = x; }
    }
    expect(worst, `worst error ${worst} at x = ${at}`).toBeLessThan(1e-7);
  });

  it('declares a helper once per kernel, dependencies first, and only when used', () => {
    expect(wgslHelperDecls(['kiln_erf_f16', 'kiln_erf_f32', 'kiln_erf_f16']).map((d) => d.match(/fn (\w+)/)![1]))
      .toEqual(['kiln_erf_f32', 'kiln_erf_f16']);
    expect(() => wgslHelperDecls(['kiln_nope'])).toThrow(/no WGSL helper 'kiln_nope'/);
    const wgslOf = (op: string, attrs: Attrs = {}) => {
      const g = new Graph('g');
      const x = g.addInput('x', { dtype: 'f32', shape: [4], device: 'webgpu' });
      return lowerNode(g.addNode(op, [x], attrs)).map((k) => k.wgsl).join('\n');
    };
    const count = (s: string, re: RegExp) => s.match(re)?.length ?? 0;
    expect(count(wgslOf('gelu'), /fn kiln_erf_f32/g)).toBe(1);
    expect(count(wgslOf('erf'), /fn kiln_erf_f32/g)).toBe(1);
    expect(count(wgslOf('gelu', { approximate: 'tanh' }), /fn kiln_/g)).toBe(1);
    // relu keeps NaN through kiln_max_f32, which calls kiln_isnan_f32; integers need neither.
    expect(wgslOf('relu').match(/fn kiln_\w+/g)).toEqual(['fn kiln_isnan_f32', 'fn kiln_max_f32']);
    expect(count(wgslOf('abs'), /fn kiln_/g)).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// Differential tests on the device

describe('elementwise kernels agree with the CPU reference', () => {
  const gpu = useGpu();

  describe('unary float ops', () => {
    const ops: OpCase[] = [
      ...unary('sigmoid', 'silu', 'tanh', 'softplus', 'gelu', 'hardswish', 'hardsigmoid', 'leaky_relu', 'exp', 'erf', 'abs', 'neg', 'relu'),
      { op: 'gelu', attrs: { approximate: 'tanh' }, label: 'gelu(tanh)' },
      { op: 'leaky_relu', attrs: { alpha: 0.2 }, label: 'leaky_relu(0.2)' },
      { op: 'hardsigmoid', attrs: { alpha: 0.2, beta: 0.4 }, label: 'hardsigmoid(onnx)' },
    ];
    it('odd size, wide inputs (|x| up to ~12, past every range split)', () => check(gpu(), ops, [{ shape: [3, 333], gen: wide }]));
    it('size-1 dims and a scalar', async () => {
      await check(gpu(), ops, [{ shape: [1, 7, 1] }]);
      await check(gpu(), ops, [{ shape: [] }]);
    });
    it('tanh and softplus keep relative precision near 0 and far out (mish needs both)', async () => {
      // tanh(4.5e-5) through exp is 0.2% off; softplus(-10) through log(1 + e) 0.05%.
      const g = new Graph('tiny');
      const x = g.addInput('x', { dtype: 'f32', shape: [4001], device: 'webgpu' });
      g.setOutputs([g.addNode('tanh', [x]).output, g.addNode('softplus', [x]).output]);
      const grid = tensorData('f32', [4001], Array.from({ length: 4001 }, (_, i) => (i - 2000) * (i % 2 ? 1e-5 : 1e-2)));
      const { gpu: got, cpu } = await runBoth(gpu(), g, { x: grid });
      for (const v of g.outputs) expectClose(got[v.name]!, cpu[v.name]!, 0, 6e-6); // WGSL allows exp 3 + 2|x| ulp
    });
    it('log, sqrt, rsqrt on positive inputs', () => check(gpu(), unary('log', 'sqrt', 'rsqrt'), [{ shape: [1001], gen: positive }]));
    it('erf to 2e-7 on a dense grid over [-5, 5], across both polynomial ranges', async () => {
      const g = new Graph('erf_grid');
      const x = g.addInput('x', { dtype: 'f32', shape: [20001], device: 'webgpu' });
      g.setOutputs([g.addNode('erf', [x]).output]);
      const grid = tensorData('f32', [20001], Array.from({ length: 20001 }, (_, i) => -5 + i * 5e-4));
      const { gpu: got, cpu } = await runBoth(gpu(), g, { x: grid });
      const name = g.outputs[0]!.name;
      expectClose(got[name]!, cpu[name]!, 2e-7, 0);
    });
  });

  describe('clip', () => {
    const bounds: OpCase[] = [
      { op: 'clip', attrs: { min: -0.5, max: 0.75 }, label: 'clip both' },
      { op: 'clip', attrs: { min: 0.1 }, label: 'clip min' },
      { op: 'clip', attrs: { max: -0.2 }, label: 'clip max' },
      { op: 'clip', attrs: { min: 1, max: -1 }, label: 'clip min>max' },
      { op: 'clip', label: 'clip none' },
    ];
    it('f32', () => check(gpu(), bounds, [{ shape: [5, 67] }]));
    it('i32 and u32, bounds beyond the range', async () => {
      const ints: OpCase[] = [
        { op: 'clip', attrs: { min: -7, max: 20 }, label: 'clip both' },
        { op: 'clip', attrs: { min: -1e12, max: 1e12 }, label: 'clip wide' },
        { op: 'clip', attrs: { max: 3 }, label: 'clip max' },
      ];
      await check(gpu(), ints, [{ dtype: 'i32', shape: [257] }]);
      await check(gpu(), ints, [{ dtype: 'u32', shape: [257] }]);
    });
    it('abs and neg on integers (neg of u32 wraps)', async () => {
      await check(gpu(), unary('abs', 'neg'), [{ dtype: 'i32', shape: [300] }]);
      await check(gpu(), unary('abs', 'neg'), [{ dtype: 'u32', shape: [300] }]);
    });
  });

  describe('binary ops with broadcasting', () => {
    const shapes: [Shape, Shape][] = [[[3, 257], [3, 257]], [[5, 1, 9], [1, 7, 1]], [[], [4, 3]], [[6, 1], [1]]];
    for (const [a, b] of shapes) {
      it(`maximum, minimum on [${a}] and [${b}] (f32, i32, u32)`, async () => {
        for (const dtype of ['f32', 'i32', 'u32'] as const) {
          await check(gpu(), unary('maximum', 'minimum'), [{ dtype, shape: a }, { dtype, shape: b }]);
        }
      });
    }
    it('pow: negative bases with integer exponents, non-integer ones (NaN), zero bases', async () => {
      const exps = [-2, -1, 0, 1, 2, 3, 0.5, 1.5];
      const pick: Gen = (r) => exps[Math.floor(r.next() * exps.length)]!;
      await check(gpu(), unary('pow'), [{ shape: [7, 61] }, { shape: [7, 61], gen: pick }]);
      await check(gpu(), unary('pow'), [{ shape: [40, 1], gen: positive }, { shape: [1, 9], gen: normal }]);
      await check(gpu(), unary('pow'), [{ shape: [4], gen: () => 0 }, { shape: [3, 1], gen: (r) => [2, -1, 0.5][Math.floor(3 * r.next())]! }]);
    });
  });

  describe('comparisons, logic and where', () => {
    const comparisons = unary('equal', 'not_equal', 'less', 'less_equal', 'greater', 'greater_equal');
    it('comparisons give bool, with ties and broadcasting', async () => {
      await check(gpu(), comparisons, [{ shape: [9, 1, 33], gen: coarse }, { shape: [5, 1], gen: coarse }]);
      await check(gpu(), comparisons, [{ dtype: 'i32', shape: [129], gen: (r) => Math.floor(r.uniform(-3, 3)) }, { dtype: 'i32', shape: [] }]);
      await check(gpu(), comparisons, [{ dtype: 'u32', shape: [2, 65], gen: (r) => Math.floor(r.uniform(0, 4)) }, { dtype: 'u32', shape: [65], gen: (r) => Math.floor(r.uniform(0, 4)) }]);
      await check(gpu(), unary('equal', 'not_equal', 'less'), [{ dtype: 'bool', shape: [77] }, { dtype: 'bool', shape: [77] }]);
    });
    it('logical ops on bool masks and on numbers', async () => {
      await check(gpu(), unary('logical_and', 'logical_or'), [{ dtype: 'bool', shape: [3, 1, 11] }, { dtype: 'bool', shape: [5, 1] }]);
      await check(gpu(), unary('logical_not'), [{ dtype: 'bool', shape: [1000] }]);
      await check(gpu(), unary('logical_and', 'logical_or'), [{ shape: [301], gen: coarse }, { dtype: 'i32', shape: [301], gen: (r) => Math.floor(r.uniform(-1, 2)) }]);
      await check(gpu(), unary('logical_not'), [{ shape: [301], gen: coarse }]);
    });
    it('where with three-way broadcasting, over f32, i32 and bool', async () => {
      await check(gpu(), unary('where'), [{ dtype: 'bool', shape: [4, 1, 1] }, { shape: [3, 1] }, { shape: [1, 17] }]);
      await check(gpu(), unary('where'), [{ dtype: 'bool', shape: [257] }, { dtype: 'i32', shape: [] }, { dtype: 'i32', shape: [257] }]);
      await check(gpu(), unary('where'), [{ dtype: 'bool', shape: [2, 3] }, { dtype: 'bool', shape: [3] }, { dtype: 'bool', shape: [2, 1] }]);
    });
  });

  describe('four outputs an invocation (outputs a multiple of 4 long, each operand one read for four)', () => {
    /** Whether the kernel `op` gets on these operands stores vec4s. */
    const stores4 = (op: string, operands: readonly Operand[]) => {
      const g = new Graph('g');
      const ins = operands.map((o, i) => g.addInput(`x${i}`, { dtype: o.dtype ?? 'f32', shape: o.shape, device: 'webgpu' }));
      return lowerNode(g.addNode(op, ins)).some((k) => /var<storage, read_write> out: array<vec4</.test(k.wgsl));
    };
    const nan: Gen = (r) => (r.next() < 0.1 ? NaN : r.normal());
    const reads: [string, Operand[]][] = [
      ['dense', [{ shape: [6, 8], gen: nan }, { shape: [6, 8] }]],
      ['scalar', [{ shape: [3, 4, 4], gen: nan }, { shape: [] }]],
      ['per-channel, a plane of 4 or more outputs a step', [{ shape: [2, 3, 2, 6] }, { shape: [1, 3, 1, 1], gen: nan }]],
      ['along a last axis of unit stride', [{ shape: [5, 12] }, { shape: [12], gen: nan }]],
    ];
    for (const [how, operands] of reads) {
      it(`${how}: f32 arithmetic and comparisons, i32`, async () => {
        expect(stores4('add', operands)).toBe(true);
        await check(gpu(), unary('add', 'mul', 'maximum', 'greater', 'equal'), operands);
        await check(gpu(), unary('add', 'minimum'), operands.map((o) => ({ ...o, dtype: 'i32', gen: undefined })));
      });
    }
    it('where over bool masks', async () => {
      const where: Operand[] = [{ dtype: 'bool', shape: [2, 8] }, { shape: [2, 8] }, { shape: [8] }];
      expect(stores4('where', where)).toBe(true);
      await check(gpu(), unary('where'), where);
      await check(gpu(), unary('logical_and', 'logical_or'), [{ dtype: 'bool', shape: [4, 4] }, { dtype: 'bool', shape: [4, 1] }]);
    });
    it('falls back to one output an invocation where four adjacent outputs need separate reads', async () => {
      const fallbacks: Operand[][] = [
        [{ shape: [2, 6] }, { shape: [2, 1] }], // a step every 2 outputs
        [{ shape: [4, 3] }, { shape: [3] }], // a last axis of 3
        [{ shape: [3, 5] }, { shape: [3, 5] }], // 15 outputs
        [{ shape: [4, 4] }, { shape: [2, 1, 4] }], // moving along two axes
      ];
      for (const operands of fallbacks) {
        expect(stores4('add', operands)).toBe(false);
        await check(gpu(), unary('add', 'sub'), operands);
      }
    });
  });

  describe('f16 kernels (computing in f16) against the f32 reference on f16-rounded inputs', () => {
    // The CPU reference keeps f16 as raw bits and has no f16 math yet, so the oracle is the f32
    // graph on the same (f16-representable) inputs. Tolerance: a result rounded to f16 is off by
    // half an ulp (2^-11 relative), and f16 intermediates add a few more: atol 1e-3, rtol 4e-3.
    const tol = { atol: 1e-3, rtol: 4e-3 };
    async function checkF16(cases: readonly OpCase[], operands: readonly Operand[]) {
      const build = (half: boolean) => {
        const g = new Graph(half ? 'f16' : 'f32');
        const ins = operands.map((o, i) => {
          const x = g.addInput(`x${i}`, { dtype: 'f32', shape: o.shape, device: 'webgpu' });
          return half ? g.addNode('cast', [x], { to: 'f16' }).output : x;
        });
        g.setOutputs(cases.map((c) => {
          const y = g.addNode(c.op, ins, c.attrs ?? {}).output;
          return half ? g.addNode('cast', [y], { to: 'f32' }).output : y;
        }));
        return g;
      };
      const half = build(true);
      const full = build(false);
      expectRoundTrip(half);
      const rng = new Random(11);
      const inputs = Object.fromEntries(operands.map((o, i) => {
        const values = Array.from({ length: numel(o.shape) }, () => (o.gen ?? normal)(rng));
        return [`x${i}`, tensorData('f32', o.shape, fromF16Array(toF16Array(values)))];
      }));
      const session = await Session.create(gpu(), compile(half));
      try {
        const got = await session.run(inputs);
        const want = runOnCpu(full, inputs);
        cases.forEach((c, k) => {
          try {
            expectClose(got[half.outputs[k]!.name]!, want[full.outputs[k]!.name]!, tol.atol, tol.rtol);
          } catch (e) {
            throw new Error(`${c.label ?? c.op} in f16: ${(e as Error).message}`);
          }
        });
      } finally {
        session.destroy();
      }
    }
    const signedMagnitude: Gen = (r) => (r.next() < 0.5 ? -1 : 1) * r.uniform(0.25, 4);
    it('unary ops', async () => {
      await checkF16([
        ...unary('sigmoid', 'silu', 'tanh', 'softplus', 'gelu', 'hardswish', 'hardsigmoid', 'leaky_relu', 'exp', 'erf', 'abs', 'neg', 'relu'),
        { op: 'gelu', attrs: { approximate: 'tanh' }, label: 'gelu(tanh)' },
        { op: 'clip', attrs: { min: -0.3, max: 1.1 }, label: 'clip' },
      ], [{ shape: [3, 171] }]);
      await checkF16(unary('log', 'sqrt', 'rsqrt'), [{ shape: [301], gen: positive }]);
    });
    it('binary ops: pow (negative bases), maximum, minimum', async () => {
      const exps = [-2, -1, 0, 1, 2, 3, 0.5];
      await checkF16(unary('pow', 'maximum', 'minimum'), [
        { shape: [5, 67], gen: signedMagnitude },
        { shape: [67], gen: (r) => exps[Math.floor(r.next() * exps.length)]! },
      ]);
    });
    it('four outputs an invocation: f16 vec4 loads and stores', async () => {
      await checkF16(unary('add', 'mul', 'maximum'), [{ shape: [4, 16] }, { shape: [16] }]);
      await checkF16(unary('gelu', 'relu'), [{ shape: [2, 32] }]);
    });
  });

  describe('cast', () => {
    const to = (...dtypes: DType[]): OpCase[] => dtypes.map((d) => ({ op: 'cast', attrs: { to: d }, label: `cast to ${d}` }));
    it('from f32 (truncating, saturating at the WGSL bounds) to every dtype', async () => {
      await check(gpu(), to('f32', 'i32', 'u32', 'bool'), [{ shape: [3, 111], gen: (r) => r.normal() * 10 }]);
      const edges = [3e9, -3e9, 1e10, -5.5, 4294967040, 2147483520, -2147483648, 0, -0.99];
      await check(gpu(), to('i32', 'u32'), [{ shape: [edges.length], gen: (() => { let i = 0; return () => edges[i++]!; })() }]);
    });
    it('between integer types (wrapping) and from bool', async () => {
      await check(gpu(), to('f32', 'u32', 'bool', 'f16'), [{ dtype: 'i32', shape: [257] }]);
      await check(gpu(), to('f32', 'i32', 'bool'), [{ dtype: 'u32', shape: [257], gen: (r) => Math.floor(r.uniform(0, 2 ** 32)) }]);
      await check(gpu(), to('f32', 'i32', 'u32', 'f16'), [{ dtype: 'bool', shape: [5, 1, 3] }]);
    }, 120_000);
    // Narrow formats are exact roundings (or wraps): the device must agree bit for bit.
    const EXACT = { atol: 0, rtol: 0 };
    /** Magnitudes from 1e-8 to 1e6, both signs, and the edges: ties, overflow, inf, NaN, -0, subnormals. */
    const narrowEdges = [
      0, -0, NaN, Infinity, -Infinity, 448, 464, 465, 480, -464.01, 240, 248, 57344, 61440, 61441, 6, 7, -5, 0.25, 0.75, 2.5, 3.5,
      1e-7, -1e-9, 2 ** -127, 2 ** -126, 1.5 * 2 ** -127, 3e38, 3.4e38, 1.5, 1.75, 1.125, 0.0625, 2 ** 127, 1.2 * 2 ** 127, 1.00390625,
    ];
    const narrowGen = (): Gen => { let i = 0; return (r) => (i < narrowEdges.length ? narrowEdges[i++]! : (r.next() < 0.5 ? -1 : 1) * 10 ** r.uniform(-8, 6)); };
    const formats = (cases: [string, Attrs][]): OpCase[] => cases.map(([label, a]) => ({ op: 'cast', attrs: { to: 'f32', ...a }, label }));
    const floatFormats = formats([
      ['bfloat16', { format: 'bfloat16' }],
      ...['float8e4m3fn', 'float8e4m3fnuz', 'float8e5m2', 'float8e5m2fnuz'].flatMap((f): [string, Attrs][] => [[f, { format: f }], [`${f} unsaturated`, { format: f, saturate: false }]]),
      ['float4e2m1', { format: 'float4e2m1' }],
      ...['up', 'down', 'nearest'].flatMap((m): [string, Attrs][] => [[`float8e8m0 ${m}`, { format: 'float8e8m0', round_mode: m }], [`float8e8m0 ${m} unsaturated`, { format: 'float8e8m0', round_mode: m, saturate: false }]]),
    ]);
    it('rounds into bfloat16, float8, float4 and float8e8m0 exactly as the CPU reference does', async () => {
      await check(gpu(), floatFormats, [{ shape: [4, 100], gen: narrowGen() }], EXACT);
      await check(gpu(), floatFormats, [{ dtype: 'f16', shape: [300], gen: (r) => (r.next() < 0.5 ? -1 : 1) * 10 ** r.uniform(-6, 4.8) }], EXACT);
      await check(gpu(), floatFormats, [{ dtype: 'i32', shape: [300], gen: (r) => Math.floor(r.uniform(-1e5, 1e5)) }], EXACT);
    }, 120_000);
    it('wraps into 8-, 16-, 4- and 2-bit integers from floats, ints and bools', async () => {
      const ints = ['int8', 'uint8', 'int16', 'uint16', 'int4', 'uint4', 'int2', 'uint2'].map((f) => ({ op: 'cast', attrs: { to: 'i32', format: f }, label: f }));
      await check(gpu(), ints, [{ shape: [3, 100], gen: (r) => r.normal() * 1000 }], EXACT);
      await check(gpu(), ints, [{ dtype: 'i32', shape: [300], gen: (r) => Math.floor(r.uniform(-1e6, 1e6)) }], EXACT);
      await check(gpu(), ints, [{ dtype: 'u32', shape: [300], gen: (r) => Math.floor(r.uniform(0, 2 ** 32)) }], EXACT);
      await check(gpu(), ints, [{ dtype: 'bool', shape: [17] }], EXACT);
    }, 120_000);
    it('bitcast reads the same 32 bits as another dtype', async () => {
      const as = (d: DType): OpCase => ({ op: 'bitcast', attrs: { to: d }, label: `bitcast to ${d}` });
      await check(gpu(), [as('i32'), as('u32')], [{ shape: [200], gen: (r) => r.normal() * 1e3 }], EXACT);
      // Bit patterns of normal floats (device stores may flush subnormals), both signs.
      await check(gpu(), [as('f32'), as('u32')], [{ dtype: 'i32', shape: [200], gen: (r) => (Math.floor(r.uniform(0x00800000, 0x7f000000)) | (r.next() < 0.5 ? 0x80000000 : 0)) }], EXACT);
      await check(gpu(), [as('i32')], [{ dtype: 'u32', shape: [200], gen: (r) => Math.floor(r.uniform(0, 2 ** 32)) }], EXACT);
    });
    it('f16: f32 -> f16 -> f32 round trip and f16 -> i32, to one f16 ulp', async () => {
      const g = new Graph('f16_round_trip');
      const x = g.addInput('x', { dtype: 'f32', shape: [1031], device: 'webgpu' });
      const h = g.addNode('cast', [x], { to: 'f16' }).output;
      const back = g.addNode('cast', [h], { to: 'f32' }).output;
      const asInt = g.addNode('cast', [h], { to: 'i32' }).output;
      g.setOutputs([h, back, asInt]);
      expectRoundTrip(g);
      const rng = new Random(5);
      // Magnitudes from 1e-7 (f16 subnormals) to 6e4 (near the f16 maximum), both signs.
      const values = Array.from({ length: 1031 }, () => (rng.next() < 0.5 ? -1 : 1) * 10 ** rng.uniform(-7, 4.78));
      const { gpu: got, cpu } = await runBoth(gpu(), g, { x: tensorData('f32', [1031], values) });
      const decoded = (t: TensorData) => tensorData('f32', t.shape, fromF16Array(t.data as Uint16Array));
      expect(got[h.name]!.dtype).toBe('f16');
      expectClose(decoded(got[h.name]!), decoded(cpu[h.name]!), 0, 2 ** -10);
      expectClose(got[back.name]!, cpu[back.name]!, 0, 2 ** -10);
      expectClose(got[asInt.name]!, cpu[asInt.name]!, 1, 2 ** -10);
    });
  });
});
