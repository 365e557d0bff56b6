import { describe, expect, it } from 'vitest';
import type { Attrs } from '../../../src/ir/attrs.js';
import { determinant } from '../../../src/runtime/cpu/kernels/linalg.js';
import { runNode, type NodeInput } from './run-node.js';

// The reference kernels of the remainder, bitwise, float-test, prod and det ops, checked by hand
// against the ONNX specification's examples and NumPy's results.

/** The values of one node's result on the CPU reference. */
function run(op: string, inputs: NodeInput[], attrs: Attrs = {}): number[] {
  return Array.from(runNode(op, inputs, attrs).data as ArrayLike<number>);
}

describe('rounding', () => {
  it('floor and ceil keep the sign of zero; round takes halves to even (ONNX Round example)', () => {
    const x = [0.1, 0.5, 0.9, 1.2, 1.5, 1.8, 2.3, 2.5, 2.7, -1.1, -1.5, -1.9, -2.2, -2.5, -2.8];
    expect(run('round', [{ values: x }])).toEqual([0, 0, 1, 1, 2, 2, 2, 2, 3, -1, -2, -2, -2, -2, -3]);
    expect(Object.is(run('ceil', [{ values: [-0.5] }])[0], -0)).toBe(true);
    expect(run('floor', [{ values: [-0.5, 2.5, NaN] }])).toEqual([-1, 2, NaN]);
  });
});

describe('mod and fmod', () => {
  const a = [-4, 7, 5, 4, -7, 8];
  const b = [2, -3, 8, -2, 3, 5];
  it('integers: mod takes the divisor\'s sign, fmod the dividend\'s (ONNX Mod examples)', () => {
    expect(run('mod', [{ dtype: 'i32', values: a }, { dtype: 'i32', values: b }])).toEqual([0, -2, 5, 0, 2, 3]);
    expect(run('fmod', [{ dtype: 'i32', values: a }, { dtype: 'i32', values: b }])).toEqual([0, 1, 5, 0, -1, 3]);
  });
  it('floats: exact (NumPy fmod and mod of the f32 values)', () => {
    const x = [-4.3, 7.2, 5, 4.3, -7.2, 8].map(Math.fround);
    const y = [2.1, -3.4, 8, -2.1, 3.4, 5].map(Math.fround);
    const fm = run('fmod', [{ values: x }, { values: y }]);
    expect(fm).toEqual(x.map((v, i) => Math.fround(v % y[i]!)));
    expect(fm[0]).toBeCloseTo(-0.1, 5);
    const m = run('mod', [{ values: x }, { values: y }]);
    expect(m[1]).toBeCloseTo(Math.fround(7.2) % Math.fround(-3.4) + Math.fround(-3.4), 6);
    expect(run('fmod', [{ values: [1e30, 5] }, { values: [3, 0] }])).toEqual([Math.fround(1e30) % 3, NaN]);
  });
  it('an integer remainder by 0 is 0; INT_MIN by -1 is 0; u32 over its whole range', () => {
    expect(run('mod', [{ dtype: 'i32', values: [5, -5, -(2 ** 31)] }, { dtype: 'i32', values: [0, 0, -1] }])).toEqual([0, 0, 0]);
    expect(run('fmod', [{ dtype: 'i32', values: [5, -(2 ** 31)] }, { dtype: 'i32', values: [0, -1] }])).toEqual([0, 0]);
    expect(run('mod', [{ dtype: 'u32', values: [2 ** 32 - 1, 7] }, { dtype: 'u32', values: [10, 0] }])).toEqual([5, 0]);
  });
});

describe('bitwise ops and shifts', () => {
  it('and, or, xor, not on i32 (two\'s complement) and u32', () => {
    expect(run('bitwise_and', [{ dtype: 'i32', values: [-1, 12] }, { dtype: 'i32', values: [-256, 10] }])).toEqual([-256, 8]);
    expect(run('bitwise_or', [{ dtype: 'u32', values: [2 ** 31, 1] }, { dtype: 'u32', values: [1, 2] }])).toEqual([2 ** 31 + 1, 3]);
    expect(run('bitwise_xor', [{ dtype: 'u32', values: [2 ** 32 - 1] }, { dtype: 'u32', values: [1] }])).toEqual([2 ** 32 - 2]);
    expect(run('bitwise_not', [{ dtype: 'i32', values: [0, -1, 5] }])).toEqual([-1, 0, -6]);
    expect(run('bitwise_not', [{ dtype: 'u32', values: [0, 5] }])).toEqual([2 ** 32 - 1, 2 ** 32 - 6]);
  });
  it('shifts: bits shifted out are gone; 32 or more (or negative) shifts everything out', () => {
    expect(run('shift_left', [{ dtype: 'u32', values: [16, 4, 1, 1, 3] }, { dtype: 'u32', values: [1, 2, 31, 32, 40] }])).toEqual([32, 16, 2 ** 31, 0, 0]);
    expect(run('shift_right', [{ dtype: 'u32', values: [16, 4, 1, 2 ** 31] }, { dtype: 'u32', values: [1, 2, 3, 32] }])).toEqual([8, 1, 0, 0]);
    expect(run('shift_left', [{ dtype: 'i32', values: [1, 1, 3] }, { dtype: 'i32', values: [31, -1, 32] }])).toEqual([-(2 ** 31), 0, 0]);
    // Right shifts of i32 are arithmetic: a negative value fills with ones.
    expect(run('shift_right', [{ dtype: 'i32', values: [-8, -8, 8] }, { dtype: 'i32', values: [1, 40, 40] }])).toEqual([-4, -1, 0]);
  });
});

describe('is_nan and is_inf', () => {
  const x = [-1.2, NaN, Infinity, 2.8, -Infinity, Infinity];
  it('follow the ONNX examples, detect_* included', () => {
    expect(run('is_nan', [{ values: x }])).toEqual([0, 1, 0, 0, 0, 0]);
    expect(run('is_inf', [{ values: x }], { detect_positive: true, detect_negative: true })).toEqual([0, 0, 1, 0, 1, 1]);
    expect(run('is_inf', [{ values: x }], { detect_positive: false, detect_negative: true })).toEqual([0, 0, 0, 0, 1, 0]);
    expect(run('is_inf', [{ values: x }], { detect_positive: true, detect_negative: false })).toEqual([0, 0, 1, 0, 0, 1]);
  });
});

describe('prod', () => {
  it('multiplies along axes; an empty axis gives 1; integers wrap modulo 2^32 exactly', () => {
    expect(run('prod', [{ shape: [2, 3], values: [1, 2, 3, 4, 5, 6] }], { axes: [1], keepdims: false })).toEqual([6, 120]);
    expect(run('prod', [{ shape: [2, 0], values: [] }], { axes: [1], keepdims: true })).toEqual([1, 1]);
    // 3^40 mod 2^32 as a signed int: a double product would have rounded long before.
    const wrapped = Number(BigInt.asIntN(32, 3n ** 40n));
    expect(run('prod', [{ dtype: 'i32', values: new Array<number>(40).fill(3) }], { axes: [], keepdims: false })).toEqual([wrapped]);
  });
});

describe('det', () => {
  it('known determinants (ONNX examples, a permutation, a singular matrix)', () => {
    expect(run('det', [{ shape: [2, 2], values: [0, 1, 2, 3] }])).toEqual([-2]);
    expect(run('det', [{ shape: [3, 2, 2], values: [1, 2, 3, 4, 1, 2, 2, 1, 1, 3, 3, 1] }])).toEqual([-2, -3, -8]);
    expect(determinant([0, 1, 0, 0, 0, 1, 1, 0, 0], 0, 3)).toBe(1);
    expect(determinant([1, 2, 3, 4, 5, 6, 7, 8, 9], 0, 3)).toBeCloseTo(0, 12);
    expect(determinant([], 0, 0)).toBe(1);
  });
  it('equals the product of the diagonal for a triangular matrix, after any row permutation up to sign', () => {
    const n = 6;
    const upper = Array.from({ length: n * n }, (_, i) => (i % n >= Math.floor(i / n) ? (i % 7) + 1 : 0));
    const diag = Array.from({ length: n }, (_, i) => upper[i * n + i]!).reduce((p, d) => p * d, 1);
    expect(determinant(upper, 0, n)).toBeCloseTo(diag, 9);
    const swapped = [...upper.slice(n, 2 * n), ...upper.slice(0, n), ...upper.slice(2 * n)];
    expect(determinant(swapped, 0, n)).toBeCloseTo(-diag, 9);
  });
});
