import { describe, it, expect } from 'vitest';
import { f16BitsToF32, f32ToF16Bits, fromF16Array, toF16Array } from '../../src/ir/f16.js';

const isNaNBits = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;

describe('f32ToF16Bits', () => {
  it.each([
    ['1.0', 1, 0x3c00],
    ['-2', -2, 0xc000],
    ['0.5', 0.5, 0x3800],
    ['largest f16 65504', 65504, 0x7bff],
    ['65520 overflows to inf (tie, odd mantissa rounds up)', 65520, 0x7c00],
    ['65519.99 stays finite', 65519.99, 0x7bff],
    ['-65520 to -inf', -65520, 0xfc00],
    ['1e10 to inf', 1e10, 0x7c00],
    ['smallest normal 2^-14', 2 ** -14, 0x0400],
    ['largest subnormal', 1023 * 2 ** -24, 0x03ff],
    ['just under smallest normal rounds up into it', (1023.5 + 0.25) * 2 ** -24, 0x0400],
    ['smallest subnormal 2^-24', 2 ** -24, 0x0001],
    ['2^-25 ties to even zero', 2 ** -25, 0x0000],
    ['just above 2^-25 rounds up', 2 ** -25 * (1 + 2 ** -20), 0x0001],
    ['3*2^-25 ties to even 2', 3 * 2 ** -25, 0x0002],
    ['5*2^-25 ties to even 2', 5 * 2 ** -25, 0x0002],
    ['2^-26 to zero', 2 ** -26, 0x0000],
    ['f32 subnormal to zero', 1e-40, 0x0000],
    ['-f32 subnormal to -0', -1e-40, 0x8000],
    ['1+2^-11 ties to even 1', 1 + 2 ** -11, 0x3c00],
    ['1+3*2^-11 ties to even', 1 + 3 * 2 ** -11, 0x3c02],
    ['1+2^-11+2^-20 rounds up', 1 + 2 ** -11 + 2 ** -20, 0x3c01],
    ['0', 0, 0x0000],
    ['-0', -0, 0x8000],
    ['inf', Infinity, 0x7c00],
    ['-inf', -Infinity, 0xfc00],
    ['0.1', 0.1, 0x2e66],
    ['pi', Math.PI, 0x4248],
  ])('%s', (_, x, bits) => {
    expect(f32ToF16Bits(x)).toBe(bits);
  });

  it('rounds from the float32 value, not the double', () => {
    // 1 + 2^-11 + 2^-30 is above the tie as a double but Math.fround drops the 2^-30.
    expect(f32ToF16Bits(1 + 2 ** -11 + 2 ** -30)).toBe(0x3c00);
  });

  it('turns NaN into a quiet NaN', () => {
    expect(f32ToF16Bits(NaN) & 0x7fff).toBe(0x7e00);
    expect(isNaNBits(f32ToF16Bits(NaN))).toBe(true);
  });
});

describe('f16BitsToF32', () => {
  it.each([
    [0x3c00, 1],
    [0x7bff, 65504],
    [0x0001, 2 ** -24],
    [0x03ff, 1023 * 2 ** -24],
    [0x0400, 2 ** -14],
    [0xc000, -2],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
    [0x3555, 0.333251953125],
  ])('bits %#', (bits, x) => {
    expect(f16BitsToF32(bits)).toBe(x);
  });

  it('keeps the sign of zero and decodes NaN', () => {
    expect(Object.is(f16BitsToF32(0x8000), -0)).toBe(true);
    expect(Object.is(f16BitsToF32(0x0000), 0)).toBe(true);
    expect(f16BitsToF32(0x7e00)).toBeNaN();
    expect(f16BitsToF32(0xfc01)).toBeNaN();
  });

  it('round-trips all 65536 bit patterns exactly (NaNs to a NaN)', () => {
    for (let h = 0; h < 0x10000; h++) {
      const x = f16BitsToF32(h);
      expect(Math.fround(x)).toBe(x); // every f16 is a float32
      const back = f32ToF16Bits(x);
      if (isNaNBits(h)) {
        if (!isNaNBits(back)) expect.fail(`NaN 0x${h.toString(16)} came back as 0x${back.toString(16)}`);
      } else if (back !== h) {
        expect.fail(`0x${h.toString(16)} -> ${x} -> 0x${back.toString(16)}`);
      }
    }
  });

  it('rounds every midpoint between neighbouring f16s to even, and quarter points to the nearer', () => {
    for (let h = 0; h < 0x7bff; h++) {
      const lo = f16BitsToF32(h);
      const hi = f16BitsToF32(h + 1);
      const mid = (lo + hi) / 2; // exact in f32: one more mantissa bit than f16 has
      expect(f32ToF16Bits(mid)).toBe((h & 1) === 0 ? h : h + 1);
      expect(f32ToF16Bits(Math.fround(lo + (hi - lo) / 4))).toBe(h);
      expect(f32ToF16Bits(Math.fround(lo + (3 * (hi - lo)) / 4))).toBe(h + 1);
    }
  });
});

describe('array helpers', () => {
  it('convert whole arrays', () => {
    const bits = toF16Array([1, -2, 0.5, 65504, Infinity]);
    expect(bits).toBeInstanceOf(Uint16Array);
    expect([...bits]).toEqual([0x3c00, 0xc000, 0x3800, 0x7bff, 0x7c00]);
    expect([...toF16Array(new Float32Array([0.1]))]).toEqual([0x2e66]);
    const back = fromF16Array(bits);
    expect(back).toBeInstanceOf(Float32Array);
    expect([...back]).toEqual([1, -2, 0.5, 65504, Infinity]);
  });
});
