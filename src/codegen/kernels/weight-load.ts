import type { DType } from '../../ir/types.js';
import type { Source } from '../kernel-module.js';
import type { KernelModule } from '../kernel-module.js';

// The one place a matmul, gemm or conv kernel reads its weight operand. A kernel declares the
// weight through `declareWeight` and loads elements through the returned functions, so a weight
// stored as packed int8 with per-channel scales (quantize-int8.ts), or as blockwise codes
// (quantize-blocks.ts), is dequantized as it is loaded, and nothing else in the kernel knows how
// the weight is stored.

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
 * A [K, N] weight stored as `bits`-bit codes (bound at the weight's source) with a scale and
 * optionally a zero point per block of `block` rows of a column (quantize-blocks.ts).
 */
export interface BlockWeightStorage {
  readonly bits: number;
  readonly block: number;
  /** N: the weight's columns. */
  readonly columns: number;
  readonly scales: Source;
  readonly scalesDType: DType;
  /** Zero points: codes packed like the weight (u32) or floats; absent, 2^(bits - 1). */
  readonly zeros?: { readonly source: Source; readonly dtype: DType };
}

/** How a weight is stored, when not as its float values. */
export type WeightStorage = Int8WeightStorage | BlockWeightStorage;

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
export function declareWeight(m: KernelModule, name: string, dtype: DType, source: Source, stored: WeightStorage | undefined, vec4 = false): WeightLoad {
  if (!stored) {
    if (vec4) m.readVec4(name, dtype, source);
    else m.read(name, dtype, source);
    return { at: (i) => `f32(${name}[${i}])`, vec4: (w) => `vec4<f32>(${name}[${w}])` };
  }
  if ('bits' in stored) return declareBlockWeight(m, name, source, stored, vec4);
  const int8 = stored;
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

/**
 * A blockwise weight's loads. The block of an element comes from its index alone (its row's
 * block, its column), so the loads are right whatever channel a kernel calls its columns; a vec4
 * takes four columns of one row (N a multiple of 4), one word of codes.
 */
function declareBlockWeight(m: KernelModule, name: string, source: Source, s: BlockWeightStorage, vec4: boolean): WeightLoad {
  if (vec4 && s.columns % 4) throw new Error(`internal: ${name}: vec4 loads of a blockwise weight need 4 | N, got N = ${s.columns}`);
  const { bits } = s;
  const per = 32 / bits;
  m.read(name, 'u32', source);
  m.read(`${name}_scale`, s.scalesDType, s.scales);
  if (s.zeros) m.read(`${name}_zero`, s.zeros.dtype, s.zeros.source);
  m.uniforms.scalar(`${name}Cols`, s.columns).scalar(`${name}RowBlock`, s.columns * s.block);
  const code = (words: string, i: string) => `f32(extractBits(${words}[(${i}) / ${per}u], ((${i}) % ${per}u) * ${bits}u, ${bits}u))`;
  const zero = (b: string) => (!s.zeros ? `${2 ** (bits - 1)}.0` : s.zeros.dtype === 'u32' ? code(`${name}_zero`, b) : `f32(${name}_zero[${b}])`);
  const scale = (b: string) => `f32(${name}_scale[${b}])`;
  m.declare(
    `fn block_${name}(i: u32) -> u32 {\n  return (i / u.${name}RowBlock) * u.${name}Cols + i % u.${name}Cols;\n}`,
    `fn load_${name}(i: u32) -> f32 {\n  let b = block_${name}(i);\n  return (${code(name, 'i')} - ${zero('b')}) * ${scale('b')};\n}`,
  );
  if (vec4) {
    const lanes = [0, 1, 2, 3];
    const field = (k: number) => (k ? `b + ${k}u` : 'b');
    m.declare(`fn load4_${name}(w: u32) -> vec4<f32> {\n  let i = w * 4u;\n  let q = ${name}[i / ${per}u];\n  let s = (i % ${per}u) * ${bits}u;\n  let b = block_${name}(i);\n`
      + `  let c = vec4<f32>(${lanes.map((k) => `f32(extractBits(q, s + ${k * bits}u, ${bits}u))`).join(', ')});\n`
      + `  return (c - vec4<f32>(${lanes.map((k) => zero(field(k))).join(', ')})) * vec4<f32>(${lanes.map((k) => scale(field(k))).join(', ')});\n}`);
  }
  return { at: (i) => `load_${name}(${i})`, vec4: (w) => `load4_${name}(${w})` };
}

/** The int8 storage of an anchor operand read as 'dequantize', or undefined for any other read. */
export function int8Storage(operand: { readonly int8?: { readonly source: Source; readonly dtype: DType; readonly inner: number; readonly channels: number } }): Int8WeightStorage | undefined {
  const q = operand.int8;
  return q ? { scales: q.source, scalesDType: q.dtype, inner: q.inner, channels: q.channels } : undefined;
}

/** How a matmul's B read as 'dequantize' is stored (int8 or blockwise), or undefined for any other read. */
export function weightStorage(operand: Parameters<typeof int8Storage>[0] & {
  readonly blocks?: Omit<BlockWeightStorage, 'scales' | 'scalesDType'> & { readonly source: Source; readonly dtype: DType };
}): WeightStorage | undefined {
  const b = operand.blocks;
  if (!b) return int8Storage(operand);
  const { source, dtype, ...layout } = b;
  return { ...layout, scales: source, scalesDType: dtype };
}
