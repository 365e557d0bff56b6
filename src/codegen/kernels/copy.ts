import type { EmittedKernel } from './kernel.js';
import { KernelModule, unravel, type Source } from '../kernel-module.js';
import type { DType } from '../../ir/types.js';
import { dimsEqual, dMul, dNumel, type Dim } from '../../ir/size-expr.js';

/**
 * The storage type of data that is only moved, never computed on: every 4-byte dtype as u32
 * (bits are bits, so one shader serves f32, i32, u32 and bool alike), f16 as itself.
 */
export function movedDType(dtype: DType): DType {
  return dtype === 'f16' ? 'f16' : 'u32';
}

/** One side of a strided copy: element offset of coordinate 0 and per-dim strides (negative allowed). */
export interface CopySide {
  readonly offset: Dim;
  readonly strides: readonly Dim[];
}

/** A copy of every element of a `shape`-sized box from one node value to another. */
export interface CopyKernelSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly Dim[];
  readonly src: CopySide;
  readonly dst: CopySide;
  /** The node values bound for the source and the destination. */
  readonly sources: { readonly src: Source; readonly dst: Source };
}

/**
 * Drops size-1 dims and merges neighbours that are contiguous on both sides, so that e.g. a
 * concat along a channel axis becomes a 2-D copy: fewer div/mods per element and more copies
 * sharing one shader (the rank is part of the shader text). Always at least rank 1.
 */
export function coalesceCopy(shape: readonly Dim[], src: readonly Dim[], dst: readonly Dim[]): { shape: Dim[]; src: Dim[]; dst: Dim[] } {
  const out = { shape: [] as Dim[], src: [] as Dim[], dst: [] as Dim[] };
  shape.forEach((d, i) => {
    if (d === 1) return;
    const k = out.shape.length - 1;
    if (k >= 0 && dimsEqual(out.src[k]!, dMul(src[i]!, d)) && dimsEqual(out.dst[k]!, dMul(dst[i]!, d))) {
      out.shape[k] = dMul(out.shape[k]!, d);
      out.src[k] = src[i]!;
      out.dst[k] = dst[i]!;
      return;
    }
    out.shape.push(d); out.src.push(src[i]!); out.dst.push(dst[i]!);
  });
  if (out.shape.length === 0) return { shape: [1], src: [0], dst: [0] };
  return out;
}

const WG = 256;

/**
 * Emits a strided copy. Shape, strides and offsets are uniforms, so every copy of one rank
 * and element size shares one shader. Negative strides arrive as two's complement and the
 * u32 arithmetic wraps, which lands on the right element.
 */
export function emitCopy(spec: CopyKernelSpec): EmittedKernel {
  const c = coalesceCopy(spec.shape, spec.src.strides, spec.dst.strides);
  const n = dNumel(spec.shape);
  const t = movedDType(spec.dtype);
  const m = new KernelModule();
  m.uniforms
    .array('shape', c.shape).array('src_strides', c.src).array('dst_strides', c.dst)
    .scalar('n', n).scalar('src_offset', spec.src.offset).scalar('dst_offset', spec.dst.offset);
  m.read('src', t, spec.sources.src);
  m.write('dst', t, spec.sources.dst);
  const body = [
    ...unravel('i', c.shape.length, 'u_shape', [{ name: 's', strides: 'u_src_strides' }, { name: 'o', strides: 'u_dst_strides' }]),
    '  dst[u.dst_offset + o] = src[u.src_offset + s];',
  ];
  return m.flat(spec.name, WG, 'u.n', n, body);
}
