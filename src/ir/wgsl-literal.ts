import { f16BitsToF32, f32ToF16Bits } from './f16.js';

/** `x` rounded to the float type `t` (f32 or f16). */
export function roundToFloat(x: number, t: string): number {
  return t === 'f16' ? f16BitsToF32(f32ToF16Bits(x)) : Math.fround(x);
}

/**
 * A WGSL literal of finite number `x` in float type `t` (`f32(0.5)`, `f16(0.0001)`), rounded to
 * `t` first so the text says exactly the value the shader computes with: the one formatter for
 * constants baked into kernels, by op math and codegen alike. Infinities and NaN cannot be WGSL
 * constant expressions; kernels read those from uniforms.
 */
export function wgslFloat(x: number, t = 'f32'): string {
  if (!Number.isFinite(x)) throw new Error(`internal: ${x} cannot be a WGSL constant (kernels read it from a uniform)`);
  const s = String(roundToFloat(x, t));
  return `${t}(${/[.e]/.test(s) ? s : `${s}.0`})`;
}
