import { describe, expect, it } from 'vitest';
import { f16BitsToF32, toF16Array } from '../../src/ir/f16.js';
import { channelLayout, dequantizedValues, packedWords, quantizeInt8, scaleValues, unpackInt8 } from '../../src/ir/quantize-int8.js';
import { tensorData } from '../../src/ir/tensor-data.js';

/** `x` rounded to f16. */
const asF16 = (x: number) => f16BitsToF32(toF16Array([x])[0]!);

describe('int8 weight packing', () => {
  it('packs every value -127..127 four a word and unpacks it exactly', () => {
    // One channel whose largest magnitude is 127: the scale is 1 and q is the value itself.
    const values = Array.from({ length: 255 }, (_, i) => i - 127);
    const { packed, scales } = quantizeInt8(tensorData('f32', [255, 1], values), 1);
    expect(packed.dtype).toBe('u32');
    expect(packed.shape).toEqual([packedWords(255)]);
    expect(packedWords(255)).toBe(64);
    expect(Array.from(scaleValues(scales, 1))).toEqual([1]);
    expect(Array.from({ length: 255 }, (_, i) => unpackInt8(packed.data, i))).toEqual(values);
    // Little-endian bytes, two's complement: element 0 (-127 = 0x81) is the low byte of word 0.
    expect(packed.data[0]! & 0xff).toBe(0x81);
    expect((packed.data[0]! >>> 8) & 0xff).toBe(0x82);
  });

  it('scales each output channel by its own max |w| / 127, a channel of zeros by 0', () => {
    // [3 channels, 5] along axis 0: channel 1 is all zeros, channel 2 has one large value.
    const w = [0.5, -1, 0.25, 0, 1, 0, 0, 0, 0, 0, 10, -3, 2, 0.001, -10];
    const t = tensorData('f32', [3, 5], w);
    const { packed, scales } = quantizeInt8(t, 0);
    const values = Array.from(scaleValues(scales, 3));
    expect(values).toEqual([1, 0, 10].map((m) => asF16(m / 127)));
    const back = dequantizedValues(packed.data, values, 15, channelLayout([3, 5], 0));
    for (let i = 0; i < 15; i++) {
      const s = values[Math.floor(i / 5)]!;
      // Rounded to the nearest step of its channel: off by at most half a step.
      expect(Math.abs(back[i]! - w[i]!)).toBeLessThanOrEqual(s / 2 + 1e-7);
    }
    // The channel maxima come back exactly (q = +-127); the zero channel stays zero.
    const [s0, , s2] = values;
    expect([back[1], back[4], back[10], back[14]]).toEqual([-127 * s0!, 127 * s0!, 127 * s2!, -127 * s2!].map(Math.fround));
    expect(Array.from(back.slice(5, 10))).toEqual([0, 0, 0, 0, 0]);
  });

  it('finds the channel of an inner axis by stride: [2, 3, 2] along axis 1', () => {
    const w = Array.from({ length: 12 }, (_, i) => (i % 2 ? -1 : 1) * (1 + Math.floor(i / 2) % 3));
    const { packed, scales } = quantizeInt8(tensorData('f32', [2, 3, 2], w), 1);
    expect(Array.from(scaleValues(scales, 3))).toEqual([1, 2, 3].map((m) => asF16(m / 127)));
    expect(Array.from({ length: 12 }, (_, i) => unpackInt8(packed.data, i))).toEqual(w.map((v) => Math.sign(v) * 127));
  });

  it('stores an f32 weight\'s scales as f16 two a word, or as f32 where one is outside f16\'s normal range', () => {
    // Three channels: their scales are the halves of words 0 (channels 0, 1) and 1 (channel 2).
    const { scales } = quantizeInt8(tensorData('f32', [3, 2], [127, 1, -254, 0, 0, 0.5]), 0);
    expect(scales.dtype).toBe('u32');
    expect(Array.from(scales.data)).toEqual([(toF16Array([2])[0]! << 16 | toF16Array([1])[0]!) >>> 0, toF16Array([0.5 / 127])[0]!]);
    // max |w| / 127 under 2^-14 (or above f16's largest) keeps f32, exact as before.
    for (const tiny of [1e-3, 1e7]) {
      const q = quantizeInt8(tensorData('f32', [2, 2], [1, 0, tiny, 0]), 0);
      expect(q.scales.dtype).toBe('f32');
      expect(Array.from(q.scales.data)).toEqual([1, tiny].map((m) => Math.fround(m / 127)));
    }
  });

  it('keeps f16 weights\' scales in f16 and quantizes against the stored scale', () => {
    const w = [0.1, -0.2, 0.3, 0.7, -0.05, 0];
    const { packed, scales } = quantizeInt8(tensorData('f16', [2, 3], toF16Array(w)), 0);
    expect(scales.dtype).toBe('f16');
    const s = Array.from(scales.data as Uint16Array, f16BitsToF32);
    expect(unpackInt8(packed.data, 2)).toBe(Math.round(f16BitsToF32(toF16Array([0.3])[0]!) / s[0]!));
  });

  it('refuses weights that are not finite', () => {
    expect(() => quantizeInt8(tensorData('f32', [2, 2], [1, NaN, 0, 1]), 0)).toThrow(/finite/);
    expect(() => quantizeInt8(tensorData('f32', [2, 2], [1, Infinity, 0, 1]), 0)).toThrow(/finite/);
  });
});
