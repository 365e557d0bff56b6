// Narrow number formats (src/ir/ops/narrow.ts): rounding into them against values worked out by
// hand from the formats' definitions (the ONNX Cast table), and rounding against decoding.
import { describe, expect, it } from 'vitest';
import { decodeNarrow, narrowBits, NARROW_FORMATS, roundToFormat, type NarrowFormat, type NarrowOptions } from '../../src/ir/ops/narrow.js';

const SAT: NarrowOptions = { saturate: true, roundMode: 'up' };
const NOSAT: NarrowOptions = { saturate: false, roundMode: 'up' };
const round = (f: NarrowFormat, xs: number[], o = SAT) => xs.map((x) => roundToFormat(x, f, o));

describe('narrow formats', () => {
  it('every code of every format decodes to a value that rounds to itself', () => {
    const bad: string[] = [];
    for (const f of Object.keys(NARROW_FORMATS) as NarrowFormat[]) {
      for (let code = 0; code < 2 ** narrowBits(f); code++) {
        const v = decodeNarrow(f, code);
        const back = roundToFormat(NARROW_FORMATS[f].kind === 'int' ? v : Math.fround(v), f, NOSAT);
        const same = Number.isNaN(v) ? Number.isNaN(back) || (f === 'float4e2m1' && Object.is(back, -0)) : Object.is(back, v) || (v === 0 && back === 0 && f.endsWith('fnuz'));
        if (!same) bad.push(`${f} code ${code}: ${v} rounds to ${back}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('bfloat16 rounds to nearest even on f32 bits, keeping NaN and overflowing to inf', () => {
    expect(round('bfloat16', [1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20, NaN, 3.4e38, -3.3895313892515355e38])).toEqual([1, 1 + 2 ** -6, 1 + 2 ** -7, NaN, Infinity, -3.3895313892515355e38]);
  });

  it('float8e4m3fn: max 448, ties to even, NaN when unsaturated out of range', () => {
    expect(round('float8e4m3fn', [464, 465, 1e6, Infinity, -Infinity, 2 ** -10, 3 * 2 ** -10, 0.3])).toEqual([448, 448, 448, 448, -448, 0, 2 ** -8, 0.3125]);
    expect(round('float8e4m3fn', [465, Infinity, -1e9], NOSAT)).toEqual([NaN, NaN, NaN]);
  });

  it('float8e5m2 overflows to inf unsaturated; the fnuz formats have no -0 and overflow to NaN', () => {
    // 61440 lies halfway between 57344 (odd mantissa) and 65536: the tie goes to the even one, which overflows.
    expect(round('float8e5m2', [60000, 61440, -Infinity], NOSAT)).toEqual([57344, Infinity, -Infinity]);
    expect(round('float8e5m2', [61440, -Infinity])).toEqual([57344, -57344]);
    expect(round('float8e4m3fnuz', [241, 1e3, -1e-9])).toEqual([240, 240, 0]);
    expect(Object.is(roundToFormat(-1e-9, 'float8e4m3fnuz', SAT), 0)).toBe(true);
    expect(Object.is(roundToFormat(-1e-9, 'float8e4m3fn', SAT), -0)).toBe(true);
    expect(round('float8e5m2fnuz', [Infinity, 2 ** -18], NOSAT)).toEqual([NaN, 0]);
  });

  it('float4e2m1 saturates at 6 whatever saturate says and turns NaN into -0 (as ONNX reference)', () => {
    expect(round('float4e2m1', [0.25, 0.75, 2.5, -3.5, 9, Infinity], NOSAT)).toEqual([0, 1, 2, -4, 6, 6]);
    expect(Object.is(roundToFormat(NaN, 'float4e2m1', SAT), -0)).toBe(true);
  });

  it('float8e8m0 rounds to powers of two up, down or to the nearest (ties up)', () => {
    const xs = [0.124, 1.1, 1.5, 3, 2 ** 127 * 1.5, 0];
    expect(round('float8e8m0', xs, { saturate: true, roundMode: 'up' })).toEqual([0.125, 2, 2, 4, 2 ** 127, 2 ** -127]);
    expect(round('float8e8m0', xs, { saturate: true, roundMode: 'down' })).toEqual([0.0625, 1, 1, 2, 2 ** 127, 2 ** -127]);
    expect(round('float8e8m0', xs, { saturate: true, roundMode: 'nearest' })).toEqual([0.125, 1, 2, 4, 2 ** 127, 2 ** -127]);
    expect(round('float8e8m0', [2 ** 127 * 1.5], { saturate: false, roundMode: 'up' })).toEqual([NaN]);
  });

  it('integers wrap as two\'s complement', () => {
    expect(round('int8', [200, -129, 127])).toEqual([-56, 127, 127]);
    expect(round('uint8', [-1, 256, 300])).toEqual([255, 0, 44]);
    expect(round('int4', [-9, 8, 7])).toEqual([7, -8, 7]);
    expect(round('uint2', [-1, 4, 5])).toEqual([3, 0, 1]);
    expect(round('int16', [40000])).toEqual([-25536]);
  });
});
