import { describe, expect, it } from 'vitest';
import { erf } from '../../../src/ir/ops/erf.js';
import type { TensorData } from '../../../src/ir/tensor-data.js';
import { runNode } from './run-node.js';

// The reference kernels are the oracle of the GPU tests, so they are checked by hand here.
// Expected values of erf, gelu, silu and sigmoid come from mpmath at 30 digits.

const run = runNode;

const values = (t: TensorData) => Array.from(t.data as ArrayLike<number>);
const f32 = (xs: number[]) => xs.map(Math.fround);

/** Asserts each element is within `tol` relative (and 1e-30 absolute) of `want`. */
function expectNear(got: number[], want: number[], tol: number): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => {
    if (Number.isNaN(want[i]!)) expect(g, `element ${i}`).toBeNaN();
    else if (g !== want[i]) expect(Math.abs(g - want[i]!), `element ${i}: got ${g}, want ${want[i]}`).toBeLessThanOrEqual(1e-30 + tol * Math.abs(want[i]!));
  });
}

describe('erf in double precision', () => {
  const table: [number, number][] = [
    [1e-10, 1.1283791670955125739e-10], [0.1, 0.1124629160182848922], [0.5, 0.52049987781304653768],
    [1, 0.84270079294971486934], [-1, -0.84270079294971486934], [1.5, 0.96610514647531072707],
    [2, 0.99532226501895273416], [-2.5, -0.99959304798255504106], [3, 0.99997790950300141456],
    [3.5, 0.99999925690162765859], [4.5, 0.99999999980338395585], [5.9, 0.9999999999999999281],
  ];
  it('matches known values to 1e-15 relative', () => {
    expectNear(table.map(([x]) => erf(x)), table.map(([, y]) => y), 1e-15);
  });
  it('is odd, 0 at 0, ±1 far out, NaN for NaN', () => {
    expect(erf(0)).toBe(0);
    expect(erf(-0.7)).toBe(-erf(0.7));
    expect(erf(7)).toBe(1);
    expect(erf(-Infinity)).toBe(-1);
    expect(erf(NaN)).toBeNaN();
  });
});

describe('CPU reference: activations', () => {
  it('gelu, exact (erf) and tanh forms', () => {
    const x = [1, -1, 2, -3, 0.5];
    expectNear(values(run('gelu', [{ values: x }])),
      f32([0.84134474606854295, -0.15865525393145705, 1.9544997361036416, -0.0040496940948902836, 0.34573123063700655]), 1e-7);
    expectNear(values(run('gelu', [{ values: x }], { approximate: 'tanh' })),
      f32([0.8411919906082767, -0.1588080093917233, 1.954597694087775, -0.0036373920817730188, 0.34571400982514392]), 1e-7);
  });
  it('silu and sigmoid, including far tails', () => {
    expectNear(values(run('silu', [{ values: [1, -2, 0, -200] }])), f32([0.73105857863000488, -0.23840584404423511, 0, -0]), 1e-7);
    expectNear(values(run('sigmoid', [{ values: [1, -2, 0, -200, 200] }])), f32([0.73105857863000488, 0.11920292202211756, 0.5, 0, 1]), 1e-7);
  });
  it('tanh, leaky_relu with default and given alpha', () => {
    expectNear(values(run('tanh', [{ values: [0, 0.5, -30] }])), f32([0, Math.tanh(0.5), -1]), 1e-7);
    expect(values(run('leaky_relu', [{ values: [-2, 0, 3] }]))).toEqual(f32([-0.02, 0, 3]));
    expect(values(run('leaky_relu', [{ values: [-2, 3] }], { alpha: 0.5 }))).toEqual([-1, 3]);
  });
  it('hardsigmoid (PyTorch defaults, and ONNX alpha/beta) and hardswish', () => {
    expect(values(run('hardsigmoid', [{ values: [-4, -3, 0, 1.5, 3, 5] }]))).toEqual([0, 0, 0.5, 0.75, 1, 1]);
    expect(values(run('hardsigmoid', [{ values: [-3, 0, 1, 3] }], { alpha: 0.2, beta: 0.5 }))).toEqual(f32([0, 0.5, 0.7, 1]));
    expect(values(run('hardswish', [{ values: [-4, -3, 0, 1.5, 3, 5] }]))).toEqual([-0, -0, 0, 1.125, 3, 5]);
  });
});

describe('CPU reference: math', () => {
  it('exp, log, sqrt, rsqrt, erf', () => {
    expectNear(values(run('exp', [{ values: [0, 1, -1] }])), f32([1, Math.E, 1 / Math.E]), 1e-7);
    expectNear(values(run('log', [{ values: [1, Math.E, 0, -1] }])), [0, 1, -Infinity, NaN], 1e-7);
    expect(values(run('sqrt', [{ values: [4, 2.25, 0] }]))).toEqual([2, 1.5, 0]);
    expect(values(run('rsqrt', [{ values: [4, 0.25] }]))).toEqual([0.5, 2]);
    expectNear(values(run('erf', [{ values: [0.5, -2] }])), f32([0.52049987781304653768, -0.99532226501895273416]), 1e-7);
  });
  it('abs and neg on every number type; i32 minimum and u32 wrap like the device', () => {
    expect(values(run('abs', [{ dtype: 'i32', values: [-3, 4, -(2 ** 31)] }]))).toEqual([3, 4, -(2 ** 31)]);
    expect(values(run('abs', [{ values: [-1.5, 2] }]))).toEqual([1.5, 2]);
    expect(values(run('neg', [{ dtype: 'u32', values: [0, 1, 5] }]))).toEqual([0, 2 ** 32 - 1, 2 ** 32 - 5]);
  });
  it('pow: C semantics for negative bases and zero', () => {
    const r = values(run('pow', [{ values: [-2, -2, -8, 0, 0, 9, 5] }, { values: [3, 2, 1 / 3, -1, 2, 0.5, 0] }]));
    expect(r.slice(0, 2)).toEqual([-8, 4]);
    expect(r[2]).toBeNaN();
    expect(r.slice(3)).toEqual([Infinity, 0, 3, 1]);
  });
  it('maximum and minimum broadcast', () => {
    const a = { shape: [2, 1], values: [0, 5] };
    const b = { shape: [3], values: [-1, 3, 7] };
    expect(values(run('maximum', [a, b]))).toEqual([0, 3, 7, 5, 5, 7]);
    expect(values(run('minimum', [{ ...a, dtype: 'i32' }, { ...b, dtype: 'i32' }]))).toEqual([-1, 0, 0, -1, 3, 5]);
  });
});

describe('CPU reference: clip', () => {
  const x = [-3, -0.5, 0, 0.5, 3];
  it('with both, one or no bounds; min > max gives max like torch.clamp', () => {
    expect(values(run('clip', [{ values: x }], { min: -1, max: 1 }))).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(values(run('clip', [{ values: x }], { min: 0 }))).toEqual([0, 0, 0, 0.5, 3]);
    expect(values(run('clip', [{ values: x }], { max: 0 }))).toEqual([-3, -0.5, 0, 0, 0]);
    expect(values(run('clip', [{ values: x }]))).toEqual(x);
    expect(values(run('clip', [{ values: x }], { min: 2, max: 1 }))).toEqual([1, 1, 1, 1, 1]);
    expect(values(run('clip', [{ values: x }], { min: -Infinity, max: 1e39 }))).toEqual(x);
  });
  it('on integers, with bounds beyond the dtype range', () => {
    expect(values(run('clip', [{ dtype: 'i32', values: [-7, 0, 7] }], { min: -2, max: 5 }))).toEqual([-2, 0, 5]);
    expect(values(run('clip', [{ dtype: 'i32', values: [-7, 7] }], { min: -1e12, max: 1e12 }))).toEqual([-7, 7]);
    expect(values(run('clip', [{ dtype: 'u32', values: [0, 9] }], { min: -5, max: 4 }))).toEqual([0, 4]);
  });
  it('rejects bounds that make no sense for the dtype', () => {
    expect(() => run('clip', [{ dtype: 'i32', values: [1] }], { min: 1.5 })).toThrow(/min=1.5 is not an integer, but the input is i32/);
    expect(() => run('clip', [{ values: [1] }], { max: NaN })).toThrow(/max is NaN/);
    expect(() => run('clip', [{ values: [1] }], { min: Infinity })).toThrow(/clip every element to an infinity/);
  });
});

describe('CPU reference: comparisons, logic, where', () => {
  const a = { shape: [2, 1], values: [1, 2] };
  const b = { shape: [3], values: [0, 1, 2] };
  const cases: [string, number[]][] = [
    ['equal', [0, 1, 0, 0, 0, 1]], ['not_equal', [1, 0, 1, 1, 1, 0]],
    ['less', [0, 0, 1, 0, 0, 0]], ['less_equal', [0, 1, 1, 0, 0, 1]],
    ['greater', [1, 0, 0, 1, 1, 0]], ['greater_equal', [1, 1, 0, 1, 1, 1]],
  ];
  for (const [op, want] of cases) {
    it(`${op} broadcasts and gives bool`, () => {
      const r = run(op, [a, b]);
      expect(r.dtype).toBe('bool');
      expect(r.data).toBeInstanceOf(Uint8Array);
      expect({ shape: [...r.shape], values: values(r) }).toEqual({ shape: [2, 3], values: want });
    });
  }
  it('logical ops on bool and on numbers (truthiness, NaN is true)', () => {
    const p = { dtype: 'bool' as const, values: [0, 0, 1, 1] };
    const q = { dtype: 'bool' as const, values: [0, 1, 0, 1] };
    expect(values(run('logical_and', [p, q]))).toEqual([0, 0, 0, 1]);
    expect(values(run('logical_or', [p, q]))).toEqual([0, 1, 1, 1]);
    expect(values(run('logical_not', [p]))).toEqual([1, 1, 0, 0]);
    expect(values(run('logical_and', [{ values: [0, -0, 2, NaN] }, { dtype: 'i32', values: [5, 5, 5, 5] }]))).toEqual([0, 0, 1, 1]);
  });
  it('where broadcasts its three operands', () => {
    const c = { dtype: 'bool' as const, shape: [2, 1], values: [1, 0] };
    const r = run('where', [c, { shape: [3], values: [1, 2, 3] }, { shape: [], values: [-1] }]);
    expect({ shape: [...r.shape], values: values(r) }).toEqual({ shape: [2, 3], values: [1, 2, 3, -1, -1, -1] });
    expect(values(run('where', [{ dtype: 'bool', values: [1, 0] }, { dtype: 'bool', values: [0, 0] }, { dtype: 'bool', values: [1, 1] }]))).toEqual([0, 1]);
  });
  it('type errors name the problem', () => {
    expect(() => run('where', [{ values: [1] }, { values: [1] }, { values: [1] }])).toThrow(/condition must be bool, got f32\[1\]/);
    expect(() => run('less', [{ values: [1] }, { dtype: 'i32', values: [1] }])).toThrow(/different dtypes/);
  });
});

describe('CPU reference: cast', () => {
  it('float -> int truncates toward zero and saturates like WGSL; NaN gives 0', () => {
    const x = { values: [-2.7, 2.7, -0.5, 3e9, -3e9, NaN] };
    expect(values(run('cast', [x], { to: 'i32' }))).toEqual([-2, 2, 0, 2 ** 31 - 128, -(2 ** 31), 0]);
    expect(values(run('cast', [x], { to: 'u32' }))).toEqual([0, 2, 0, 3e9, 0, 0]);
  });
  it('int -> int wraps; int -> float rounds to nearest', () => {
    expect(values(run('cast', [{ dtype: 'i32', values: [-1, 7] }], { to: 'u32' }))).toEqual([2 ** 32 - 1, 7]);
    expect(values(run('cast', [{ dtype: 'u32', values: [2 ** 32 - 1] }], { to: 'i32' }))).toEqual([-1]);
    expect(values(run('cast', [{ dtype: 'i32', values: [16777217, -3] }], { to: 'f32' }))).toEqual([16777216, -3]);
  });
  it('-> bool is x != 0, bool -> number is 0/1', () => {
    const r = run('cast', [{ values: [0, -0, 0.25, -3, NaN] }], { to: 'bool' });
    expect(r.dtype).toBe('bool');
    expect(values(r)).toEqual([0, 0, 1, 1, 1]);
    expect(values(run('cast', [{ dtype: 'bool', values: [1, 0] }], { to: 'f32' }))).toEqual([1, 0]);
    expect(values(run('cast', [{ dtype: 'bool', values: [1, 0] }], { to: 'i32' }))).toEqual([1, 0]);
  });
  it('f32 <-> f16 through raw bits, rounding to nearest-even', () => {
    const h = run('cast', [{ values: [1, 0.1, -2.5, 65519, 65520, 1 + 2 ** -11] }], { to: 'f16' });
    expect(h.data).toBeInstanceOf(Uint16Array);
    expect(values(h)).toEqual([0x3c00, 0x2e66, 0xc100, 0x7bff, 0x7c00, 0x3c00]);
    const back = run('cast', [{ dtype: 'f16', values: new Uint16Array([0x3c00, 0x2e66, 0xc100, 0x7c00]) }], { to: 'f32' });
    expect(values(back)).toEqual([1, 0.0999755859375, -2.5, Infinity]);
    expect(values(run('cast', [{ dtype: 'f16', values: new Uint16Array([0xc100, 0x2e66]) }], { to: 'i32' }))).toEqual([-2, 0]);
    expect(values(run('cast', [{ dtype: 'i32', values: [-3, 2049] }], { to: 'f16' }))).toEqual([0xc200, 0x6800]);
  });
  it('rejects an unknown dtype', () => {
    expect(() => run('cast', [{ values: [1] }], { to: 'f64' })).toThrow(/cannot cast to 'f64'/);
  });
});

describe('type inference of elementwise ops', () => {
  it('float-only ops reject integers and bool, naming the dtype', () => {
    expect(() => run('exp', [{ dtype: 'i32', values: [1] }])).toThrow(/needs a float input, got i32/);
    expect(() => run('pow', [{ dtype: 'i32', values: [1] }, { dtype: 'i32', values: [1] }])).toThrow(/needs a float input, got i32/);
    expect(() => run('abs', [{ dtype: 'bool', values: [1] }])).toThrow(/does not take bool/);
  });
  it('gelu checks its approximate attribute', () => {
    expect(() => run('gelu', [{ values: [1] }], { approximate: 'fast' })).toThrow(/approximate must be "none" or "tanh", got "fast"/);
  });
});
