import type { EmittedKernel } from './kernel.js';
import type { DType } from '../../ir/types.js';
import { enables, flatIndex, grid1d, storageDecl, UniformBlock, flatKernel } from '../wgsl.js';
import { movedDType } from './copy.js';

/** A gather over data viewed as [outer, extent, inner] with `count` i32 indices into the middle axis. */
export interface GatherKernelSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly outer: number;
  readonly extent: number;
  readonly inner: number;
  readonly count: number;
}

const WG = 256;

/**
 * Emits a gather: bindings data, indices, out. Negative indices count from the end; indices
 * still out of range are clamped (a shader cannot raise, and a clamped read is deterministic
 * where an unchecked one is not). The CPU reference rejects them instead.
 */
export function emitGather(spec: GatherKernelSpec): EmittedKernel {
  const n = spec.outer * spec.count * spec.inner;
  const t = movedDType(spec.dtype);
  const u = new UniformBlock().scalar('n', n).scalar('extent', spec.extent).scalar('inner', spec.inner).scalar('count', spec.count);
  const wgsl = flatKernel([enables([t]) + storageDecl(0, 'data', t, 'read'), storageDecl(1, 'indices', 'i32', 'read'), storageDecl(2, 'out', t, 'read_write'), u.declare(3)], WG, [
    `  let i = ${flatIndex(WG)};`,
    '  if (i >= u.n) { return; }',
    '  let r = i % u.inner;',
    '  let q = i / u.inner;',
    '  let j = q % u.count;',
    '  let o = q / u.count;',
    '  var idx = indices[j];',
    '  if (idx < 0) { idx += i32(u.extent); }',
    '  let k = u32(clamp(idx, 0, i32(u.extent) - 1));',
    '  out[i] = data[(o * u.extent + k) * u.inner + r];',
  ]);
  return { name: spec.name, wgsl, uniforms: u.words(), workgroups: grid1d(n, WG) };
}
