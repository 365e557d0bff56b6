import type { DType } from '../../ir/types.js';
import type { Source } from '../kernel-module.js';
import type { KernelModule } from '../kernel-module.js';

// The one place a matmul, gemm or conv kernel reads its weight operand. A kernel declares the
// weight through `declareWeight` and loads elements through the returned functions, so a weight
// stored as packed int8 with per-channel scales (quantize-int8.ts) is dequantized as it is
// loaded, and nothing else in the kernel knows how the weight is stored.

/** A weight stored as int8, four a u32 (bound at the weight's source), with one scale per channel. */
export interface Int8WeightStorage {
  /** The node value holding the scales: f32, f16 (under fp16), or u32 (f16 two a word). */
  readonly scales: Source;
  readonly scalesDType: DType;
  /** channel(i) = (i / inner) % channels for flat element index i. */
  readonly inner: number;
  readonly channels: number;
}

/**
 * How a kernel loads its weight. `channel`, where the kernel knows it, is the element's output
 * channel (a u32 WGSL expression): an int8 weight then reads its scale without dividing the index.
 */
export interface WeightLoad {
  /** The f32 value of element `index` (a u32 WGSL expression). */
  readonly at: (index: string, channel?: string) => string;
  /**
   * Elements 4w..4w+3 as a vec4<f32>, `w` a u32 WGSL expression, `channel0` the first one's
   * channel when the four are consecutive channels; only when the kernel asked for vec4 loads.
   */
  readonly vec4: (word: string, channel0?: string) => string;
}

/**
 * Declares weight `name` (stored as `dtype` at `source`, or as int8 when `int8` is given) and
 * returns its loads. `vec4` binds a plain weight as vec4s (an int8 one is one u32 per 4 anyway).
 */
export function declareWeight(m: KernelModule, name: string, dtype: DType, source: Source, int8: Int8WeightStorage | undefined, vec4 = false): WeightLoad {
  if (!int8) {
    if (vec4) m.readVec4(name, dtype, source);
    else m.read(name, dtype, source);
    return { at: (i) => `f32(${name}[${i}])`, vec4: (w) => `vec4<f32>(${name}[${w}])` };
  }
  m.read(name, 'u32', source);
  m.read(`${name}_scale`, int8.scalesDType, int8.scales);
  // u32 scales are f16 two a word (channel c in half c % 2 of word c / 2).
  const scale = (ch: string) => (int8.scalesDType === 'u32' ? `unpack2x16float(${name}_scale[(${ch}) >> 1u])[(${ch}) & 1u]` : `f32(${name}_scale[${ch}])`);
  m.uniforms.scalar(`${name}Inner`, int8.inner).scalar(`${name}Channels`, int8.channels);
  const channelOf = (i: string) => `(${i} / u.${name}Inner) % u.${name}Channels`;
  // extractBits on an i32 sign-extends the byte it takes.
  m.declare(`fn load_${name}(i: u32, ch: u32) -> f32 {\n  return f32(extractBits(bitcast<i32>(${name}[i >> 2u]), (i & 3u) * 8u, 8u)) * ${scale('ch')};\n}`);
  if (vec4) {
    m.declare(`fn load4_${name}(w: u32, ch: vec4<u32>) -> vec4<f32> {\n  let q = bitcast<i32>(${name}[w]);\n`
      + `  let v = vec4<f32>(f32(extractBits(q, 0u, 8u)), f32(extractBits(q, 8u, 8u)), f32(extractBits(q, 16u, 8u)), f32(extractBits(q, 24u, 8u)));\n`
      + `  return v * vec4<f32>(${['x', 'y', 'z', 'w'].map((k) => scale(`ch.${k}`)).join(', ')});\n}`);
  }
  return {
    at: (i, ch) => `load_${name}(${i}, ${ch ?? channelOf(i)})`,
    vec4: (w, ch0) => `load4_${name}(${w}, ${ch0 !== undefined ? `${ch0} + vec4<u32>(0u, 1u, 2u, 3u)` : `vec4<u32>(${[0, 1, 2, 3].map((k) => channelOf(`(${w} * 4u + ${k}u)`)).join(', ')})`})`,
  };
}

/** The int8 storage of an anchor operand read as 'dequantize', or undefined for any other read. */
export function int8Storage(operand: { readonly int8?: { readonly source: Source; readonly dtype: DType; readonly inner: number; readonly channels: number } }): Int8WeightStorage | undefined {
  const q = operand.int8;
  return q ? { scales: q.source, scalesDType: q.dtype, inner: q.inner, channels: q.channels } : undefined;
}
