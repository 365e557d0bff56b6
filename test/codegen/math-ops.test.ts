// Trigonometric, rounding, remainder, bitwise and float-test ops: the WGSL helpers' series checked on the
// host, then every op on the device against the CPU reference (double precision, or exact for
// integers, remainders and bool results) on dense grids and wide random inputs.
import { describe, expect, it } from 'vitest';
import type { Attrs } from '../../src/ir/attrs.js';
import { toF16Array } from '../../src/ir/f16.js';
import { Graph } from '../../src/ir/graph.js';
import { tensorData, type TensorData } from '../../src/ir/tensor-data.js';
import { numel, type DType } from '../../src/ir/types.js';
import { Random } from '../../src/frontend/torch/random.js';
import {
  ASIN_COEFFS, ATAN_COEFFS, COS_COEFFS, PIO2_PARTS, SIN_COEFFS, SINH_COEFFS, TRIG_EXACT_RANGE,
} from '../../src/codegen/kernels/wgsl-trig.js';
import { useGpu } from '../helpers/gpu.js';
import { expectClose, runBoth } from '../helpers/compare.js';
import { expectRoundTrip } from '../ir/roundtrip.js';
import { compile } from '../../src/compiler.js';
import { Session } from '../../src/runtime/session.js';

/** c0 + v (c1 + v (...)) in double. */
const poly = (c: readonly number[], v: number) => c.reduceRight((acc, k) => k + v * acc, 0);

/** The worst relative error of `approx` against `exact` on a grid of `n` points over [lo, hi]. */
function worstRelative(approx: (x: number) => number, exact: (x: number) => number, lo: number, hi: number, n = 20_001): number {
  let worst = 0;
  for (let i = 0; i < n; i++) {
    const x = lo + ((hi - lo) * i) / (n - 1);
    if (x === 0) continue;
    worst = Math.max(worst, Math.abs(approx(x) - exact(x)) / Math.abs(exact(x)));
  }
  return worst;
}

describe('WGSL trigonometric series (host checks of their truncation error)', () => {
  it('each series is within 1e-9 relative of the function on its interval, so f32 rounding dominates', () => {
    const q = Math.PI / 4;
    const t8 = Math.SQRT2 - 1;
    expect(worstRelative((r) => r + r * r * r * poly(SIN_COEFFS, r * r), Math.sin, -q, q)).toBeLessThan(1e-9);
    expect(worstRelative((r) => 1 - (r * r) / 2 + r ** 4 * poly(COS_COEFFS, r * r), Math.cos, -q, q)).toBeLessThan(1e-9);
    expect(worstRelative((t) => t + t ** 3 * poly(ATAN_COEFFS, t * t), Math.atan, -t8, t8)).toBeLessThan(1e-9);
    expect(worstRelative((x) => x + x ** 3 * poly(ASIN_COEFFS, x * x), Math.asin, -0.5, 0.5)).toBeLessThan(1e-9);
    expect(worstRelative((x) => x + x ** 3 * poly(SINH_COEFFS, x * x), Math.sinh, -1, 1)).toBeLessThan(1e-9);
  });

  it('pi/2 splits into parts whose multiples by |j| < 2^16 are exact in f32', () => {
    const parts = PIO2_PARTS as [number, number, number, number];
    // The last part is rounded to f32: the sum is off by at most half its ulp (5e-17).
    expect(Math.abs(parts.reduce((a, b) => a + b, 0) - Math.PI / 2)).toBeLessThan(1e-16);
    for (const p of parts) expect(Math.fround(p)).toBe(p);
    // At most 8 significant bits: p * 2^k is an integer below 2^8 for the right k.
    for (const p of parts.slice(0, 3)) {
      const m = p * 2 ** (7 - Math.floor(Math.log2(p)));
      expect(Number.isInteger(m) && m < 2 ** 8).toBe(true);
    }
  });
});

type Gen = (rng: Random, i: number) => number;

/** Runs `op` on the device and the CPU with operands from `gens`, compared within atol/rtol. */
async function check(device: ReturnType<ReturnType<typeof useGpu>>, op: string, operands: { dtype: DType; shape: number[]; gen: Gen }[], tol: { atol: number; rtol: number }, attrs: Attrs = {}) {
  const g = new Graph(op);
  const ins = operands.map((o, k) => g.addInput(`x${k}`, { dtype: o.dtype, shape: o.shape, device: 'webgpu' }));
  const y = g.addNode(op, ins, attrs).output;
  g.setOutputs([y]);
  expectRoundTrip(g);
  const rng = new Random(7);
  const inputs: Record<string, TensorData> = Object.fromEntries(operands.map((o, k) => {
    const values = Array.from({ length: numel(o.shape) }, (_, i) => o.gen(rng, i));
    return [`x${k}`, o.dtype === 'f16' ? tensorData('f16', o.shape, toF16Array(values)) : tensorData(o.dtype, o.shape, values)];
  }));
  const { gpu, cpu } = await runBoth(device, g, inputs);
  try {
    expectClose(gpu[y.name]!, cpu[y.name]!, tol.atol, tol.rtol);
  } catch (e) {
    throw new Error(`${op} on ${operands.map((o) => `${o.dtype}[${o.shape}]`).join(', ')}: ${(e as Error).message}`);
  }
}

const EXACT = { atol: 0, rtol: 0 };
/** A few f32 ulp: the helpers measured at most 3e-7 relative (2.5 ulp) against double. */
const TRIG_TOL = { atol: 1e-7, rtol: 1e-6 };
const grid = (lo: number, hi: number, n: number): Gen => (_, i) => lo + ((hi - lo) * i) / (n - 1);
const logUniform = (lo: number, hi: number): Gen => (r) => (r.next() < 0.5 ? -1 : 1) * 10 ** r.uniform(lo, hi);

describe('math ops on the device agree with the CPU reference', () => {
  const gpu = useGpu();

  describe('trigonometric and hyperbolic, log1p and expm1', () => {
    const N = 20_001;
    const domains: [string, number, number][] = [
      ['sin', -50, 50], ['cos', -50, 50], ['tan', -10, 10], ['atan', -20, 20],
      ['asin', -1, 1], ['acos', -1, 1], ['atanh', -0.9999, 0.9999], ['acosh', 1, 30],
      ['sinh', -9, 9], ['cosh', -9, 9], ['asinh', -30, 30], ['log1p', -0.9999, 30], ['expm1', -9, 9],
    ];
    for (const [op, lo, hi] of domains) {
      it(`${op} on a dense grid over [${lo}, ${hi}]`, () => check(gpu(), op, [{ dtype: 'f32', shape: [N], gen: grid(lo, hi, N) }], TRIG_TOL));
    }
    it(`sin, cos and tan stay accurate up to |x| = ${Math.floor(TRIG_EXACT_RANGE)}`, async () => {
      for (const op of ['sin', 'cos', 'tan']) {
        await check(gpu(), op, [{ dtype: 'f32', shape: [20_001], gen: (r) => r.uniform(-TRIG_EXACT_RANGE, TRIG_EXACT_RANGE) }], TRIG_TOL);
      }
    });
    it('keep relative precision for tiny arguments and large ones (log-uniform magnitudes)', async () => {
      for (const op of ['sin', 'tan', 'asin', 'atan', 'sinh', 'asinh', 'atanh', 'log1p', 'expm1']) {
        await check(gpu(), op, [{ dtype: 'f32', shape: [4001], gen: logUniform(-30, -0.5) }], TRIG_TOL);
      }
      await check(gpu(), 'log1p', [{ dtype: 'f32', shape: [4001], gen: logUniform(-2, 30) }], TRIG_TOL);
      await check(gpu(), 'cos', [{ dtype: 'f32', shape: [4001], gen: logUniform(-30, 4) }], TRIG_TOL);
      await check(gpu(), 'atan', [{ dtype: 'f32', shape: [4001], gen: logUniform(-2, 30) }], TRIG_TOL);
      await check(gpu(), 'asinh', [{ dtype: 'f32', shape: [4001], gen: logUniform(-2, 30) }], TRIG_TOL);
      await check(gpu(), 'acosh', [{ dtype: 'f32', shape: [4001], gen: (r) => 1 + 10 ** r.uniform(-7, 30) }], TRIG_TOL);
      // exp's own error grows with its argument (WGSL allows 3 + 2|x| ulp): 6e-6 at 89 here.
      for (const op of ['sinh', 'cosh', 'expm1']) await check(gpu(), op, [{ dtype: 'f32', shape: [4001], gen: (r) => r.uniform(-88, 88) }], { atol: 0, rtol: 2e-5 });
    });
    it('outside their domains: NaN (asin, acos, acosh, atanh; sin, cos, tan of ±inf) and infinity (atanh(±1))', async () => {
      const specials = [1.5, -1.5, 2, -2, 1, -1, 0.5, 0];
      for (const op of ['asin', 'acos', 'acosh', 'atanh', 'log1p']) {
        await check(gpu(), op, [{ dtype: 'f32', shape: [specials.length], gen: (_, i) => specials[i]! }], TRIG_TOL);
      }
      const infinities = [Infinity, -Infinity, 1];
      for (const op of ['sin', 'cos', 'tan']) {
        await check(gpu(), op, [{ dtype: 'f32', shape: [3], gen: (_, i) => infinities[i]! }], TRIG_TOL);
      }
    });
    it('f16 operands compute in f32 and round once', async () => {
      const ops = ['sin', 'cos', 'tan', 'atan', 'sinh', 'cosh', 'asinh', 'expm1'];
      for (const op of ops) await check(gpu(), op, [{ dtype: 'f16', shape: [1001], gen: grid(-3, 3, 1001) }], { atol: 1e-7, rtol: 2 ** -10 });
      for (const op of ['asin', 'acos', 'atanh']) await check(gpu(), op, [{ dtype: 'f16', shape: [999], gen: grid(-0.99, 0.99, 999) }], { atol: 1e-7, rtol: 2 ** -10 });
    });
  });

  it('floor, ceil and round (halves to even) are exact, f32 and f16', async () => {
    const halves: Gen = (r) => Math.round(r.uniform(-40, 40)) / 2; // every half, both signs
    const wide: Gen = (r) => r.normal() * 10 ** r.uniform(-3, 9);
    for (const op of ['floor', 'ceil', 'round']) {
      for (const gen of [halves, wide]) await check(gpu(), op, [{ dtype: 'f32', shape: [1001], gen }], EXACT);
      await check(gpu(), op, [{ dtype: 'f16', shape: [301], gen: halves }], EXACT);
    }
  });

  describe('mod and fmod are exact', () => {
    const wideInt: Gen = (r) => Math.floor(r.uniform(-(2 ** 31), 2 ** 31));
    const smallInt: Gen = (r) => Math.floor(r.uniform(-9, 10)); // zeros and both signs
    it('i32: wide dividends, small divisors of both signs and zero, with broadcasting', async () => {
      for (const op of ['mod', 'fmod']) {
        await check(gpu(), op, [{ dtype: 'i32', shape: [64, 33], gen: wideInt }, { dtype: 'i32', shape: [33], gen: smallInt }], EXACT);
        await check(gpu(), op, [{ dtype: 'i32', shape: [2001], gen: wideInt }, { dtype: 'i32', shape: [2001], gen: wideInt }], EXACT);
        await check(gpu(), op, [{ dtype: 'i32', shape: [4], gen: (_, i) => [-(2 ** 31), -(2 ** 31), 7, -7][i]! }, { dtype: 'i32', shape: [4], gen: (_, i) => [-1, 3, 0, -1][i]! }], EXACT);
      }
    });
    it('u32 over the whole range', async () => {
      const wideU: Gen = (r) => Math.floor(r.uniform(0, 2 ** 32));
      for (const op of ['mod', 'fmod']) {
        await check(gpu(), op, [{ dtype: 'u32', shape: [2001], gen: wideU }, { dtype: 'u32', shape: [2001], gen: (r) => Math.floor(r.uniform(0, 20)) }], EXACT);
      }
    });
    it('f32 and f16, with quotients up to 2^60 (where x - y trunc(x/y) would be far off)', async () => {
      const divisor: Gen = (r) => (r.next() < 0.5 ? -1 : 1) * r.uniform(0.1, 10);
      for (const op of ['mod', 'fmod']) {
        await check(gpu(), op, [{ dtype: 'f32', shape: [40, 51], gen: logUniform(-3, 18) }, { dtype: 'f32', shape: [51], gen: divisor }], EXACT);
        await check(gpu(), op, [{ dtype: 'f16', shape: [1001], gen: logUniform(-2, 4) }, { dtype: 'f16', shape: [1001], gen: divisor }], EXACT);
      }
    });
  });

  describe('bitwise ops and shifts are exact', () => {
    const wide = (dtype: DType): Gen => (r) => Math.floor(dtype === 'u32' ? r.uniform(0, 2 ** 32) : r.uniform(-(2 ** 31), 2 ** 31));
    for (const dtype of ['i32', 'u32'] as const) {
      it(`${dtype}: and, or, xor (broadcast), not, shifts by -2..40`, async () => {
        for (const op of ['bitwise_and', 'bitwise_or', 'bitwise_xor']) {
          await check(gpu(), op, [{ dtype, shape: [7, 1, 65], gen: wide(dtype) }, { dtype, shape: [3, 65], gen: wide(dtype) }], EXACT);
        }
        await check(gpu(), 'bitwise_not', [{ dtype, shape: [1001], gen: wide(dtype) }], EXACT);
        const shift: Gen = (r) => Math.floor(r.uniform(dtype === 'u32' ? 0 : -2, 41));
        for (const op of ['shift_left', 'shift_right']) {
          await check(gpu(), op, [{ dtype, shape: [2001], gen: wide(dtype) }, { dtype, shape: [2001], gen: shift }], EXACT);
        }
      });
    }
  });

  describe('is_nan and is_inf', () => {
    const specials = [0, -0, 1.5, -2, Infinity, -Infinity, NaN, 3.4e38, -3.4e38, 1e-40, 65504, -65504];
    const pick: Gen = (_, i) => specials[i % specials.length]!;
    const variants: Attrs[] = [{}, { detect_negative: false }, { detect_positive: false }, { detect_positive: false, detect_negative: false }];
    for (const dtype of ['f32', 'f16'] as const) {
      it(`${dtype}: every special value, each detect_* combination`, async () => {
        await check(gpu(), 'is_nan', [{ dtype, shape: [48], gen: pick }], EXACT);
        for (const attrs of variants) await check(gpu(), 'is_inf', [{ dtype, shape: [48], gen: pick }], EXACT, attrs);
      });
    }
  });

  it('under fp16 lowering, is_inf and is_nan test the f32 values (1e5 is finite) and sinh stays f32', async () => {
    const g = new Graph('fp16_tests');
    const x = g.addInput('x', { dtype: 'f32', shape: [4], device: 'webgpu' });
    g.setOutputs([g.addNode('is_inf', [x]).output, g.addNode('is_nan', [x]).output, g.addNode('sinh', [x]).output]);
    const session = await Session.create(gpu(), compile(g, { precision: 'fp16' }));
    try {
      const out = await session.run({ x: tensorData('f32', [4], [1e5, -1e5, Infinity, 11]) });
      const [inf, nan, sinh] = g.outputs.map((v) => Array.from(out[v.name]!.data as ArrayLike<number>));
      expect(inf).toEqual([0, 0, 1, 0]);
      expect(nan).toEqual([0, 0, 0, 0]);
      expect(sinh![3]).toBeCloseTo(Math.sinh(11), -1); // 29937: f32 inside, rounded to an f32 output
    } finally {
      session.destroy();
    }
  });

  it('prod reduces floats (f32 accumulation) and integers (wrapping like the CPU)', async () => {
    const near1: Gen = (r) => r.uniform(0.5, 1.6) * (r.next() < 0.2 ? -1 : 1);
    await check(gpu(), 'prod', [{ dtype: 'f32', shape: [6, 40, 5], gen: near1 }], { atol: 1e-7, rtol: 1e-5 }, { axes: [1], keepdims: false });
    await check(gpu(), 'prod', [{ dtype: 'f32', shape: [3, 100], gen: near1 }], { atol: 1e-7, rtol: 1e-5 }, { axes: [], keepdims: true });
    await check(gpu(), 'prod', [{ dtype: 'i32', shape: [5, 70], gen: (r) => Math.floor(r.uniform(-5, 6)) }], EXACT, { axes: [1], keepdims: false });
    await check(gpu(), 'prod', [{ dtype: 'u32', shape: [70, 5], gen: (r) => Math.floor(r.uniform(0, 2 ** 32)) }], EXACT, { axes: [0], keepdims: false });
  });

  it('fuse with each other and with a reduction (helpers declared once per kernel)', async () => {
    const g = new Graph('fused_math');
    const x = g.addInput('x', { dtype: 'f32', shape: [8, 129], device: 'webgpu' });
    const y = g.addInput('y', { dtype: 'f32', shape: [129], device: 'webgpu' });
    const s = g.addNode('sin', [x]).output;
    const c = g.addNode('cos', [g.addNode('atan', [x]).output]).output;
    const m = g.addNode('fmod', [g.addNode('mul', [s, c]).output, y]).output;
    const p = g.addNode('prod', [g.addNode('cosh', [m]).output], { axes: [1], keepdims: false }).output;
    const nan = g.addNode('is_nan', [g.addNode('asin', [x]).output]).output;
    g.setOutputs([m, g.addNode('asinh', [p]).output, nan]);
    expectRoundTrip(g);
    const rng = new Random(2);
    const inputs = {
      x: tensorData('f32', [8, 129], Array.from({ length: 8 * 129 }, () => 1.5 * rng.normal())),
      y: tensorData('f32', [129], Array.from({ length: 129 }, () => rng.uniform(0.1, 0.6))),
    };
    const { gpu: got, cpu } = await runBoth(gpu(), g, inputs);
    g.outputs.forEach((v) => expectClose(got[v.name]!, cpu[v.name]!, 1e-6, 1e-5));
  });
});
