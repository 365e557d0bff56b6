import type { ConvGeometry } from '../../ir/ops/conv.js';
import type { DType } from '../../ir/types.js';
import { enables, storageDecl, UniformBlock, wgslType } from '../wgsl.js';
import { addEpilogueUniforms, epilogueDecls, epilogueFunction, type Epilogue, epilogueDTypes } from './epilogue.js';

// What every convolution kernel variant shares: its spec, its storage bindings (x, weight,
// optional bias, output — the node's inputs then its output) and the geometry uniforms. Shapes
// and window parameters are uniforms so convolutions of any size share one shader per variant.

/** A convolution to emit: element type, geometry, and whether a bias is bound. */
export interface ConvKernelSpec {
  readonly name: string;
  /** dtype of the weights, the bias and (without an epilogue) the output. */
  readonly dtype: DType;
  /** dtype x is stored in when it differs from `dtype` (a cast fused in front: x is converted as it is read). */
  readonly xDType?: DType;
  readonly geometry: ConvGeometry;
  readonly hasBias: boolean;
  /** Elementwise ops fused after the convolution (bound after the bias, before the output). */
  readonly epilogue?: Epilogue;
  /** Where x's elements are when it is read through a view (a split or slice of a larger tensor). */
  readonly input?: ConvInputLayout;
  /**
   * x is read scaled per channel, x[n, c] * xs[n * batchStride + c] (a gate fused in front of
   * the conv); `xs` binds after the bias.
   */
  readonly inputScale?: { readonly batchStride: number };
}

/** x(n, c, h, w) at offset + n*sN + c*sC + h*sH + w (rows contiguous). */
export interface ConvInputLayout {
  readonly offset: number;
  readonly sN: number;
  readonly sC: number;
  readonly sH: number;
}

/** Workgroup size of the convolution kernels (a multiple of the 32/64-lane subgroups of real GPUs). */
export const CONV_WG = 64;

/**
 * Storage declarations `x`, `wt`, optional `bias`, epilogue operands, `out` (with the epilogue
 * function), and the binding index left for uniforms.
 */
export function convBindings(spec: ConvKernelSpec): { decls: string; uniformBinding: number } {
  const decls = [storageDecl(0, 'x', spec.xDType ?? spec.dtype, 'read'), storageDecl(1, 'wt', spec.dtype, 'read')];
  if (spec.hasBias) decls.push(storageDecl(2, 'bias', spec.dtype, 'read'));
  if (spec.inputScale) decls.push(storageDecl(decls.length, 'xs', spec.dtype, 'read'));
  const epi = spec.epilogue;
  if (epi) decls.push(...epilogueDecls(epi, decls.length));
  decls.push(storageDecl(decls.length, 'out', epi?.outDType ?? spec.dtype, 'read_write'));
  const dtypes = [spec.dtype, spec.xDType ?? spec.dtype, ...epilogueDTypes(epi)];
  return { decls: enables(dtypes) + decls.join('\n') + (epi ? `\n${epilogueFunction(epi)}` : ''), uniformBinding: decls.length };
}

/** Statement storing f32 value `v` at flat output index `i`, through the epilogue if there is one. */
export function storeOut(spec: ConvKernelSpec, i: string, v: string): string {
  return spec.epilogue ? `out[${i}] = epilogue(${v}, ${i});` : `out[${i}] = ${wgslType(spec.dtype)}(${v});`;
}

/** Uniform block with the convolution's geometry; kernels add their own blocking counts first. */
export function convUniforms(g: ConvGeometry, extra: Record<string, number>, epilogue?: Epilogue, input?: ConvInputLayout, inputScale?: { batchStride: number }): UniformBlock {
  const u = new UniformBlock();
  if (inputScale) u.scalar('xsB', inputScale.batchStride);
  for (const [k, v] of Object.entries(extra)) u.scalar(k, v);
  if (epilogue) addEpilogueUniforms(u, epilogue);
  const x = input ?? { offset: 0, sN: g.inChannels * g.inH * g.inW, sC: g.inH * g.inW, sH: g.inW };
  u.scalar('xOff', x.offset).scalar('xsN', x.sN).scalar('xsC', x.sC).scalar('xsH', x.sH);
  return u
    .scalar('C', g.inChannels).scalar('H', g.inH).scalar('W', g.inW)
    .scalar('O', g.outChannels).scalar('OH', g.outH).scalar('OW', g.outW)
    .scalar('Cg', g.inPerGroup).scalar('Og', g.outPerGroup)
    .scalar('KH', g.kernelH).scalar('KW', g.kernelW)
    .scalar('sh', g.strideH).scalar('sw', g.strideW)
    .scalar('dh', g.dilationH).scalar('dw', g.dilationW)
    .scalar('pt', g.padTop).scalar('pl', g.padLeft);
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
