// Exact remainders in WGSL (the `mod` and `fmod` ops). WGSL's integer % truncates and its float %
// is x - y * trunc(x / y), which rounds (and is far off once x / y passes 2^24).
import type { HelperDef } from './wgsl-poly.js';

/**
 * fmod(x, y) exactly: |x| minus the largest y * 2^k not above it, repeated. Each subtraction
 * r - t has t <= r < 2t, so it is exact (Sterbenz), and lowers r's exponent by at least one: at
 * most 277 steps across the whole f32 range, as many as the exponents of x and y differ.
 */
function fmodF32(): string {
  return [
    'fn kiln_fmod_f32(x: f32, y: f32) -> f32 {',
    '  let b = abs(y);',
    '  var r = abs(x);',
    '  if (b == 0.0) { var nan_bits = 0x7fc00000u; return bitcast<f32>(nan_bits); }',
    '  if (r < b) { return x; }',
    '  let eb = frexp(b).exp;',
    '  for (var i = 0; i < 280 && r >= b; i++) {',
    '    let k = frexp(r).exp - eb;',
    '    var t = ldexp(b, k);',
    '    if (t > r) { t = ldexp(b, k - 1); }',
    '    r = r - t;',
    '  }',
    '  return select(r, -r, x < 0.0);',
    '}',
  ].join('\n');
}

/** The divisor's sign: fmod moved by one divisor when the signs differ (integer x mod 0 = 0). */
function modFn(t: 'f32' | 'i32' | 'u32'): string {
  const z = `${t}(0)`;
  if (t === 'u32') return 'fn kiln_mod_u32(x: u32, y: u32) -> u32 { return select(x % y, 0u, y == 0u); }';
  return [
    `fn kiln_mod_${t}(x: ${t}, y: ${t}) -> ${t} {`,
    `  let r = kiln_fmod_${t}(x, y);`,
    `  return select(r, r + y, r != ${z} && ((r < ${z}) != (y < ${z})));`,
    '}',
  ].join('\n');
}

/** Truncating integer remainder; 0 for a divisor of 0 (and of -1, where INT_MIN % -1 overflows). */
const fmodI32 = 'fn kiln_fmod_i32(x: i32, y: i32) -> i32 { return select(x % y, 0, y == 0 || y == -1); }';
const fmodU32 = 'fn kiln_fmod_u32(x: u32, y: u32) -> u32 { return select(x % y, 0u, y == 0u); }';

const viaF32 = (name: string) => `fn kiln_${name}_f16(x: f16, y: f16) -> f16 { return f16(kiln_${name}_f32(f32(x), f32(y))); }`;

export const REMAINDER_HELPERS: Readonly<Record<string, HelperDef>> = {
  kiln_fmod_f32: { deps: [], decl: fmodF32 },
  kiln_fmod_f16: { deps: ['kiln_fmod_f32'], decl: () => viaF32('fmod') },
  kiln_fmod_i32: { deps: [], decl: () => fmodI32 },
  kiln_fmod_u32: { deps: [], decl: () => fmodU32 },
  kiln_mod_f32: { deps: ['kiln_fmod_f32'], decl: () => modFn('f32') },
  kiln_mod_f16: { deps: ['kiln_mod_f32'], decl: () => viaF32('mod') },
  kiln_mod_i32: { deps: ['kiln_fmod_i32'], decl: () => modFn('i32') },
  kiln_mod_u32: { deps: [], decl: () => modFn('u32') },
};
