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
 * An [R, C] matrix stored as `bits`-bit codes (bound at the weight's source) with a scale and
 * optionally a zero point per block of `block` values: down its columns (a [K, N] weight, axis
 * 0) or along its rows (a table, axis 1; quantize-blocks.ts).
 */
export interface BlockWeightStorage {
  readonly bits: number;
  readonly block: number;
  /** C: the matrix's columns. */
  readonly columns: number;
  /** The axis blocks run along: 0 when absent. */
  readonly axis?: 1;
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
   * channel when the four are consecutive channels, and `row` their row of a [K, N] matrix
   * where the kernel knows it; only when the kernel asked for vec4 loads.
   */
  readonly vec4: (word: string, channel0?: string, row?: string) => string;
  /**
   * Where the weight's dequantization parameters hold for `rows` consecutive rows (a blockwise
   * weight's blocks down its columns), or for every row (`rows` undefined: an int8 weight's scale
   * per column): a K loop by such spans declares them once a span for column group j from its
   * first row and column (`declare`, WGSL statements), then loads four columns through them
   * (`vec4`); only with vec4 loads.
   */
  readonly spans?: {
    readonly rows?: number;
    readonly declare: (j: number, row: string, channel0: string) => string[];
    readonly vec4: (j: number, word: string) => string;
    /**
     * A word of codes holds `columns` consecutive columns of a row (8 at 4 bits): `load(w)` is
     * the word holding columns 4w.., `vec4(j, q)` columns 4j..4j+3 of loaded word `q` through
     * span j's parameters, so a kernel computing a word's columns loads its codes once.
     */
    readonly words?: { readonly columns: number; readonly load: (w: string) => string; readonly vec4: (j: number, q: string) => string };
  };
  /**
   * Elements 4w..4w+3 of one channel, `w` a u32 WGSL expression, as a vec4<f32> before the
   * channel's scale (`unscaled`), and that scale (`scale(channel)`, undefined for a float weight):
   * a kernel summing along a channel's run multiplies by the scale once, after the sum. Only with
   * vec4 loads, for a float weight or an int8 one whose channels are its rows.
   */
  readonly run?: { readonly unscaled: (w: string) => string; readonly scale?: (channel: string) => string };
}

/**
 * Declares weight `name` (stored as `dtype` at `source`, or as `stored` says: int8 or blockwise
 * codes there, their scales beside) and returns its loads. `vec4` binds a plain weight as vec4s
 * (an int8 one is one u32 per 4 anyway).
 */
export function declareWeight(m: KernelModule, name: string, dtype: DType, source: Source, stored: WeightStorage | undefined, vec4 = false): WeightLoad {
  if (!stored) {
    if (vec4) m.readVec4(name, dtype, source);
    else m.read(name, dtype, source);
    const vec = (w: string) => `vec4<f32>(${name}[${w}])`;
    return { at: (i) => `f32(${name}[${i}])`, vec4: vec, ...(vec4 ? { run: { unscaled: vec } } : {}) };
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
  const codes4 = (q: string) => `vec4<f32>(f32(extractBits(${q}, 0u, 8u)), f32(extractBits(${q}, 8u, 8u)), f32(extractBits(${q}, 16u, 8u)), f32(extractBits(${q}, 24u, 8u)))`;
  if (vec4) {
    m.declare(`fn load4_${name}(w: u32, ch: vec4<u32>) -> vec4<f32> {\n  let q = bitcast<i32>(${name}[w]);\n`
      + `  let v = ${codes4('q')};\n  return v * vec4<f32>(${['x', 'y', 'z', 'w'].map((k) => scale(`ch.${k}`)).join(', ')});\n}`);
  }
  return {
    at: (i, ch) => `load_${name}(${i}, ${ch ?? channelOf(i)})`,
    vec4: (w, ch0) => `load4_${name}(${w}, ${ch0 !== undefined ? `${ch0} + vec4<u32>(0u, 1u, 2u, 3u)` : `vec4<u32>(${[0, 1, 2, 3].map((k) => channelOf(`(${w} * 4u + ${k}u)`)).join(', ')})`})`,
    // Where the channels are the columns (a matmul's per-column scales), they hold down every row.
    ...(vec4 && int8.inner === 1 ? {
      spans: {
        declare: (j: number, _row: string, ch0: string) => [`let ${name}_s${j} = vec4<f32>(${[0, 1, 2, 3].map((k) => scale(`${ch0} + ${k}u`)).join(', ')});`],
        vec4: (j: number, w: string) => `${codes4(`bitcast<i32>(${name}[${w}])`)} * ${name}_s${j}`,
      },
    } : {}),
    ...(vec4 && int8.inner !== 1 ? { run: { unscaled: (w: string) => codes4(`bitcast<i32>(${name}[${w}])`), scale } } : {}),
  };
}

/**
 * A blockwise weight's loads. The block of an element comes from its index (its row's block, its
 * column), so the loads are right whatever channel a kernel calls its columns. A vec4 takes four
 * columns of one row (N a multiple of 4): one word of codes, and one vec4 of scales (and of zero
 * points) where the kernel gives the row and first column, which saves dividing the index.
 */
function declareBlockWeight(m: KernelModule, name: string, source: Source, s: BlockWeightStorage, vec4: boolean): WeightLoad {
  if (vec4 && (s.columns % 4 || s.axis)) throw new Error(`internal: ${name}: vec4 loads of a blockwise weight need blocks down its columns and 4 | N`);
  const { bits } = s;
  const per = 32 / bits;
  m.read(name, 'u32', source);
  // Per-block values are vec4s under vec4 loads: four columns' blocks are consecutive.
  const perBlock = (field: string, dtype: DType, src: Source) => {
    if (vec4) m.readVec4(field, dtype, src);
    else m.read(field, dtype, src);
    return (b: string) => (vec4 ? `f32(${field}[(${b}) / 4u][(${b}) % 4u])` : `f32(${field}[${b}])`);
  };
  const scale = perBlock(`${name}_scale`, s.scalesDType, s.scales);
  const packedZeros = s.zeros?.dtype === 'u32';
  if (packedZeros) m.read(`${name}_zero`, 'u32', s.zeros!.source);
  const floatZero = s.zeros && !packedZeros ? perBlock(`${name}_zero`, s.zeros.dtype, s.zeros.source) : undefined;
  // Axis 0: a block is (i / (C * block)) * C + i % C; axis 1: (i / C) * ceil(C / block) + (i % C) / block.
  m.uniforms.scalar(`${name}Cols`, s.columns).scalar(`${name}RowBlock`, s.axis ? Math.ceil(s.columns / s.block) : s.columns * s.block);
  const code = (words: string, i: string, shift = '') => `f32(extractBits(${words}[(${i}) / ${per}u], ((${i}) % ${per}u) * ${bits}u${shift}, ${bits}u))`;
  const zero = (b: string) => (packedZeros ? code(`${name}_zero`, b) : floatZero ? floatZero(b) : `${2 ** (bits - 1)}.0`);
  m.declare(
    s.axis ? `fn block_${name}(i: u32) -> u32 {\n  return (i / u.${name}Cols) * u.${name}RowBlock + (i % u.${name}Cols) / ${s.block}u;\n}`
      : `fn block_${name}(i: u32) -> u32 {\n  return (i / u.${name}RowBlock) * u.${name}Cols + i % u.${name}Cols;\n}`,
    `fn load_${name}(i: u32) -> f32 {\n  let b = block_${name}(i);\n  return (${code(name, 'i')} - ${zero('b')}) * ${scale('b')};\n}`,
  );
  if (!vec4) return { at: (i) => `load_${name}(${i})`, vec4: () => { throw new Error(`internal: ${name}: no vec4 loads declared`); } };
  // Elements 4w..4w+3 and their blocks b..b+3 (b a multiple of 4, so four codes share a word).
  const four = (word: string, shift: string) => `vec4<f32>(${[0, 1, 2, 3].map((k) => `f32(extractBits(${word}, ${shift} + ${k * bits}u, ${bits}u))`).join(', ')})`;
  const zeros = (b: string) => (packedZeros ? four(`${name}_zero[(${b}) / ${per}u]`, `((${b}) % ${per}u) * ${bits}u`)
    : floatZero ? `vec4<f32>(${name}_zero[(${b}) / 4u])` : `vec4<f32>(${2 ** (bits - 1)}.0)`);
  m.declare(
    `fn codes4_${name}(w: u32) -> vec4<f32> {\n  let i = w * 4u;\n  return ${four(`${name}[i / ${per}u]`, `(i % ${per}u) * ${bits}u`)};\n}`,
    `fn load4_${name}(w: u32, b: u32) -> vec4<f32> {\n  return (codes4_${name}(w) - ${zeros('b')}) * vec4<f32>(${name}_scale[b / 4u]);\n}`,
  );
  const block = (j: number) => `${name}_b${j}`;
  return {
    at: (i) => `load_${name}(${i})`,
    vec4: (w, ch0, row) => `load4_${name}(${w}, ${row !== undefined && ch0 !== undefined ? `(${row}) / ${s.block}u * u.${name}Cols + ${ch0}` : `block_${name}((${w}) * 4u)`})`,
    spans: {
      rows: s.block,
      declare: (j, row, ch0) => [
        `let ${block(j)} = (${row}) / ${s.block}u * u.${name}Cols + ${ch0};`,
        `let ${name}_s${j} = vec4<f32>(${name}_scale[${block(j)} / 4u]);`,
        `let ${name}_z${j} = ${zeros(block(j))};`,
      ],
      vec4: (j, w) => `(codes4_${name}(${w}) - ${name}_z${j}) * ${name}_s${j}`,
      words: {
        columns: per,
        load: (w) => `${name}[(${w}) / ${per / 4}u]`,
        vec4: (j, q) => `(${four(q, `${(4 * j * bits) % 32}u`)} - ${name}_z${j}) * ${name}_s${j}`,
      },
    },
  };
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
