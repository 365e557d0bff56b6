// IEEE 754 binary16 conversion. kiln keeps f16 tensors as raw bits (Uint16Array) because
// Node 20 has no Float16Array; every place that turns numbers into f16 goes through here so
// that the CPU reference, the parser and weight loading all round the same way.

// Scratch views to read a float32's bits; module-level so conversion allocates nothing.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * f16 bits of `x`, rounded to nearest-even from its float32 value (as a GPU would round an
 * f32 to f16). Subnormals are exact, overflow gives ±Infinity, NaN a quiet NaN, -0 stays -0.
 */
export function f32ToF16Bits(x: number): number {
  f32[0] = x; // the store is Math.fround
  const bits = u32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff; // biased by 127
  const mant = bits & 0x7fffff;

  if (exp === 0xff) return sign | (mant !== 0 ? 0x7e00 : 0x7c00);
  if (exp > 127 + 15) return sign | 0x7c00; // 2^16 and above overflow even before rounding

  if (exp >= 127 - 14) {
    // Normal f16: rebias the exponent, keep the top 10 mantissa bits, round on the 13 dropped.
    // A carry out of the mantissa bumps the exponent, which is exactly right (up to Infinity).
    let h = ((exp - 127 + 15) << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) !== 0)) h++;
    return sign | h;
  }

  // Subnormal f16 (units of 2^-24): the value is full * 2^(exp-150), so shift by 126 - exp.
  // Below 2^-25 (shift > 24) everything rounds to zero; f32 subnormals land there too.
  const shift = 126 - exp;
  if (shift > 24) return sign;
  const full = 0x800000 | mant;
  let h = full >>> shift;
  const rest = full & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rest > half || (rest === half && (h & 1) !== 0)) h++; // may carry into the smallest normal
  return sign | h;
}

/** The exact value of f16 bits (every f16 is representable as a float32 and a double). */
export function f16BitsToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant !== 0 ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** f16 bits of each element, rounded to nearest-even. */
export function toF16Array(values: Float32Array | readonly number[]): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f32ToF16Bits(values[i]!);
  return out;
}

/** The values of f16 bits, widened to float32. */
export function fromF16Array(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = f16BitsToF32(bits[i]!);
  return out;
}
