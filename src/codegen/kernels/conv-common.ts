import type { ConvGeometry } from '../../ir/ops/conv.js';
import type { DType } from '../../ir/types.js';
import { dIsMultiple, dMul, type Dim } from '../../ir/size-expr.js';
import { KernelModule, type Source } from '../kernel-module.js';
import { declareOutput, declareOutputVec4, storedValue, type Epilogue } from './epilogue.js';
import { declareWeight, type Int8WeightStorage, type WeightLoad } from './weight-load.js';

// What every convolution kernel variant shares: its spec, its storage bindings (x, weight,
// optional bias, optional input scale, output) and the geometry uniforms. Shapes and window
// parameters are uniforms so convolutions of any size share one shader per variant.

/** The extents of a convolution that may vary from run to run (symbolic sizes). */
type VaryingExtent = 'batch' | 'inH' | 'inW' | 'outH' | 'outW';

/** A convolution's geometry as a kernel takes it: its batch and spatial extents may be symbolic. */
export type ConvKernelGeometry = Omit<ConvGeometry, VaryingExtent> & { readonly [K in VaryingExtent]: Dim };

/** The geometry of a node's convolution, its varying extents taken from the values' dims. */
export function kernelGeometry(g: ConvGeometry, x: readonly Dim[], out: readonly Dim[]): ConvKernelGeometry {
  return { ...g, batch: x[0]!, inH: x[2]!, inW: x[3]!, outH: out[2]!, outW: out[3]! };
}

/** A convolution to emit: element type, geometry, and whether a bias is bound. */
export interface ConvKernelSpec {
  readonly name: string;
  /** The node values bound for x, the weights, the bias and input scale (when there are), and the output. */
  readonly sources: { readonly x: Source; readonly w: Source; readonly bias?: Source; readonly scale?: Source; readonly out: Source };
  /** dtype of the weights, the bias and (without an epilogue) the output. */
  readonly dtype: DType;
  /** dtype x is stored in when it differs from `dtype` (a cast fused in front: x is converted as it is read). */
  readonly xDType?: DType;
  readonly geometry: ConvKernelGeometry;
  readonly hasBias: boolean;
  /** Elementwise ops fused after the convolution. */
  readonly epilogue?: Epilogue;
  /** Where x's elements are when it is read through a view (a split or slice of a larger tensor). */
  readonly input?: ConvInputLayout;
  /**
   * x is read scaled per channel, x[n, c] * xs[n * batchStride + c] (a gate fused in front of
   * the conv).
   */
  readonly inputScale?: { readonly batchStride: number };
  /** The weights are stored as packed int8 with one scale per output channel (axis 0), dequantized as they load. */
  readonly wInt8?: Int8WeightStorage;
}

/** x(n, c, h, w) at offset + n*sN + c*sC + h*sH + w (rows contiguous). */
export interface ConvInputLayout {
  readonly offset: Dim;
  readonly sN: Dim;
  readonly sC: Dim;
  readonly sH: Dim;
}

/** Workgroup size of the convolution kernels (a multiple of the 32/64-lane subgroups of real GPUs). */
export const CONV_WG = 64;

/** How a kernel binds x and the output: as arrays of vec4s (four row elements a load or store) or of scalars. */
export interface ConvVec4Io {
  readonly x?: boolean;
  readonly out?: boolean;
}

/**
 * A convolution kernel's module: the geometry uniforms (after the kernel's own blocking counts,
 * `extra`), x, the weights `wt`, the optional `bias` and input scale `xs`, and the output with the
 * epilogue; `store(i, v)` stores f32 value `v` at flat output index `i`, `store4(i, vs)` four
 * values at i .. i + 3 (i a multiple of 4: one vec4 store when `vec4.out`); `wt.at(i)` loads
 * weight element `i` as f32. With `vec4.x`, x is an array of vec4s. Without `readsX`, x is left
 * to the caller (a depthwise conv computed in front, conv-depthwise-prologue.ts, binds its own).
 */
export function convModule(spec: ConvKernelSpec, extra: Record<string, Dim>, vec4: ConvVec4Io = {}, readsX = true): ConvModule {
  const m = new KernelModule();
  const g = spec.geometry;
  const u = m.uniforms;
  if (spec.inputScale) u.scalar('xsB', spec.inputScale.batchStride);
  for (const [k, v] of Object.entries(extra)) u.scalar(k, v);
  const x = inputLayout(spec);
  u.scalar('xOff', x.offset).scalar('xsN', x.sN).scalar('xsC', x.sC).scalar('xsH', x.sH)
    .scalar('C', g.inChannels).scalar('H', g.inH).scalar('W', g.inW)
    .scalar('O', g.outChannels).scalar('OH', g.outH).scalar('OW', g.outW)
    .scalar('Cg', g.inPerGroup).scalar('Og', g.outPerGroup)
    .scalar('KH', g.kernelH).scalar('KW', g.kernelW)
    .scalar('sh', g.strideH).scalar('sw', g.strideW)
    .scalar('dh', g.dilationH).scalar('dw', g.dilationW)
    .scalar('pt', g.padTop).scalar('pl', g.padLeft);
  if (readsX && vec4.x) m.readVec4('x', spec.xDType ?? spec.dtype, spec.sources.x);
  else if (readsX) m.read('x', spec.xDType ?? spec.dtype, spec.sources.x);
  const wt = declareWeight(m, 'wt', spec.dtype, spec.sources.w, spec.wInt8);
  if (spec.hasBias) m.read('bias', spec.dtype, spec.sources.bias!);
  if (spec.inputScale) m.read('xs', spec.dtype, spec.sources.scale!);
  if (!vec4.out) {
    const store = declareOutput(m, spec.epilogue, spec.dtype, spec.sources.out);
    return { m, wt, store, store4: (i, vs) => vs.map((v, k) => store(`(${i}) + ${k}u`, v)).join(' '), value: storedValue(spec.epilogue, spec.dtype) };
  }
  return { m, wt, ...declareOutputVec4(m, spec.epilogue, spec.dtype, spec.sources.out) };
}

/** A convolution kernel's module and how it loads weights and stores outputs (see convModule). */
export interface ConvModule {
  readonly m: KernelModule;
  readonly wt: WeightLoad;
  readonly store: (i: string, v: string) => string;
  readonly store4: (i: string, vs: readonly string[]) => string;
  /** The value stored for f32 value `v` at flat index `i` (through the epilogue). */
  readonly value: (v: string, i: string) => string;
}

/** Where x's elements are: the spec's view, or x's own dense layout. */
export function inputLayout(spec: ConvKernelSpec): ConvInputLayout {
  const g = spec.geometry;
  return spec.input ?? { offset: 0, sN: dMul(g.inChannels, g.inH, g.inW), sC: dMul(g.inH, g.inW), sH: g.inW };
}

/**
 * Which of x and the output a row kernel (an invocation's `pixels` adjacent output columns from
 * a multiple of `pixels`) can bind as vec4s: the output when its rows are a multiple of 4 long
 * and `pixels` is too; x when, besides, x's rows are a multiple of 4 long and start at multiples
 * of 4 (an invocation's first window then starts a whole number of quads in, at any stride).
 * Float data only.
 */
export function rowVec4Io(spec: ConvKernelSpec, pixels: number): ConvVec4Io {
  const g = spec.geometry;
  const floats = (t: DType) => t === 'f32' || t === 'f16';
  const out = pixels % 4 === 0 && dIsMultiple(g.outW, 4) && floats(spec.epilogue?.outDType ?? spec.dtype);
  const x = inputLayout(spec);
  const xRows = [x.offset, x.sN, x.sC, x.sH, g.inW].every((d) => dIsMultiple(d, 4));
  return { out, x: out && xRows && floats(spec.xDType ?? spec.dtype) };
}

/** WGSL f32 vector (or scalar, for width 1) type of `width` lanes. */
export function f32Vec(width: number): string {
  return width === 1 ? 'f32' : `vec${width}<f32>`;
}

/** Lane `i` of a value of type f32Vec(width). */
export function lane(v: string, width: number, i: number): string {
  return width === 1 ? v : `${v}[${i}]`;
}

/** The value added to output channel `o` (a u32 expression) before storing: its bias, or nothing. */
export function biasTerm(spec: ConvKernelSpec, o: string): string {
  return spec.hasBias ? ` + f32(bias[${o}])` : '';
}
