import type { DType } from '../ir/types.js';
import { KilnError } from '../ir/errors.js';
import { dCeilDiv, dimRange, type Dim } from '../ir/size-expr.js';

/** WGSL scalar type that stores a dtype on the device (bool is stored as u32). */
export function wgslType(dtype: DType): string {
  return dtype === 'bool' ? 'u32' : dtype;
}

/** A WGSL extension a kernel may use besides f16 (the runtime requires its feature; see WGSL_ENABLE_FEATURES). */
export type WgslExtension = 'subgroups';

/** `enable f16;` when any dtype needs it, and an `enable` line for each extension. */
export function enables(dtypes: readonly DType[], extensions: readonly WgslExtension[] = []): string {
  return (dtypes.includes('f16') ? 'enable f16;\n' : '') + extensions.map((e) => `enable ${e};\n`).join('');
}

/**
 * A 32-bit word of a uniform: a u32, or an i32 stored as its bits; anything wider would wrap
 * silently. A symbolic size is computed when the model runs, so its whole range must fit.
 */
function word(name: string, value: Dim): Dim {
  const [lo, hi] = dimRange(value);
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < -(2 ** 31) || hi >= 2 ** 32) {
    const shown = typeof value === 'number' ? String(value) : `${value.text} (up to ${hi})`;
    throw new KilnError(`uniform '${name}' would be ${shown}, which does not fit the 32 bits kernels compute sizes and offsets in`);
  }
  return typeof value === 'number' ? value >>> 0 : value;
}

/**
 * A uniform block of u32 scalars and u32 arrays. Arrays are packed four to a vec4<u32>
 * because uniform arrays need a 16-byte element stride.
 */
export class UniformBlock {
  private readonly fields: { name: string; values: Dim[]; array: boolean }[] = [];

  /** Adds a u32 scalar field (a size known when the model runs is computed then). */
  scalar(name: string, value: Dim): this {
    this.fields.push({ name, values: [word(name, value)], array: false });
    return this;
  }

  /** Adds an f32 scalar stored as its bits in a u32 field; WGSL reads it as `bitcast<f32>(u.<name>)`. */
  f32(name: string, value: number): this {
    return this.scalar(name, new Uint32Array(new Float32Array([value]).buffer)[0]!);
  }

  /** Adds a u32 array field of fixed length (`values.length`, at least 1). */
  array(name: string, values: readonly Dim[]): this {
    this.fields.push({ name, values: values.length ? values.map((v) => word(name, v)) : [0], array: true });
    return this;
  }

  get isEmpty(): boolean {
    return this.fields.length === 0;
  }

  /** WGSL struct, binding and accessor functions for `u_<array>(i)`. */
  declare(binding: number): string {
    const scalars = this.fields.filter((f) => !f.array);
    const arrays = this.fields.filter((f) => f.array);
    const members = [
      ...arrays.map((f) => `  ${f.name}: array<vec4<u32>, ${Math.ceil(f.values.length / 4)}>,`),
      ...scalars.map((f) => `  ${f.name}: u32,`),
    ];
    const accessors = arrays.map((f) => `fn u_${f.name}(i: u32) -> u32 { return u.${f.name}[i / 4u][i % 4u]; }`);
    return [`struct Uniforms {`, ...members, `};`, `@group(0) @binding(${binding}) var<uniform> u: Uniforms;`, ...accessors].join('\n');
  }

  /** The block's contents as 32-bit words, laid out as `declare` declares them. */
  words(): Dim[] {
    const out: Dim[] = [];
    for (const f of this.fields.filter((x) => x.array)) {
      const padded = Math.ceil(f.values.length / 4) * 4;
      out.push(...f.values, ...new Array<number>(padded - f.values.length).fill(0));
    }
    for (const f of this.fields.filter((x) => !x.array)) out.push(...f.values);
    while (out.length % 4) out.push(0);
    return out;
  }
}

/** Workgroups a dispatch may have along each axis (WebGPU's guaranteed maxComputeWorkgroupsPerDimension). */
export const MAX_WORKGROUPS_PER_DIMENSION = 65535;

/**
 * Workgroup counts covering `n` invocations of `wgSize`, folded into y past the 65535 limit.
 * For a size known when the model runs, the fold is fixed by its largest value.
 */
export function grid1d(n: Dim, wgSize: number): [Dim, Dim, Dim] {
  if (typeof n !== 'number') {
    const groups = dCeilDiv(n, wgSize);
    const y = Math.ceil(dimRange(groups)[1] / MAX_WORKGROUPS_PER_DIMENSION);
    return y <= 1 ? [groups, 1, 1] : [dCeilDiv(groups, y), y, 1];
  }
  const groups = Math.max(1, Math.ceil(n / wgSize));
  if (groups <= MAX_WORKGROUPS_PER_DIMENSION) return [groups, 1, 1];
  const y = Math.ceil(groups / MAX_WORKGROUPS_PER_DIMENSION);
  return [Math.ceil(groups / y), y, 1];
}

/** WGSL expression for the flat invocation index of a `grid1d` dispatch. */
export function flatIndex(wgSize: number): string {
  return `gid.x + gid.y * nwg.x * ${wgSize}u`;
}

/** Entry-point parameters of a flat kernel (`grid1d` dispatch, `flatIndex` element). */
export const FLAT_BUILTINS = '@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>';
