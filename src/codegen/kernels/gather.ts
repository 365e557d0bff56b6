import type { EmittedKernel } from './kernel.js';
import type { DType } from '../../ir/types.js';
import { dMul, type Dim } from '../../ir/size-expr.js';
import { KernelModule, type Source } from '../kernel-module.js';
import { movedDType } from './copy.js';

/** A gather over data viewed as [outer, extent, inner] with `count` i32 indices into the middle axis. */
export interface GatherKernelSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly outer: Dim;
  readonly extent: Dim;
  readonly inner: Dim;
  readonly count: Dim;
  /** The node values bound for the data, the indices and the output. */
  readonly sources: { readonly data: Source; readonly indices: Source; readonly out: Source };
}

const WG = 256;

/**
 * A module for an indexing kernel: its data and i32 indices read (and a scatter's updates), its
 * output written; data, updates and output stored as `dtype`.
 */
export function indexingModule(dtype: DType, sources: { readonly data: Source; readonly indices: Source; readonly updates?: Source; readonly out: Source }): KernelModule {
  const m = new KernelModule();
  m.read('data', dtype, sources.data);
  m.read('indices', 'i32', sources.indices);
  if (sources.updates !== undefined) m.read('updates', dtype, sources.updates);
  m.write('out', dtype, sources.out);
  return m;
}

/**
 * Lines making `let name: u32` of the index `read` along an axis of extent `u.extent`: negative
 * counts from the end, and still out of range is clamped (see emitGather).
 */
export function clampedIndex(read: string, name: string): string[] {
  return [`  var idx = ${read};`, '  if (idx < 0) { idx += i32(u.extent); }', `  let ${name} = u32(clamp(idx, 0, i32(u.extent) - 1));`];
}

/**
 * Emits a gather. Negative indices count from the end; indices still out of range are clamped
 * (a shader cannot raise, and a clamped read is deterministic where an unchecked one is not).
 * The CPU reference rejects them instead.
 */
export function emitGather(spec: GatherKernelSpec): EmittedKernel {
  const n = dMul(spec.outer, spec.count, spec.inner);
  const t = movedDType(spec.dtype);
  const m = indexingModule(t, spec.sources);
  m.uniforms.scalar('n', n).scalar('extent', spec.extent).scalar('inner', spec.inner).scalar('count', spec.count);
  const body = [
    '  let r = i % u.inner;',
    '  let q = i / u.inner;',
    '  let j = q % u.count;',
    '  let o = q / u.count;',
    ...clampedIndex('indices[j]', 'k'),
    '  out[i] = data[(o * u.extent + k) * u.inner + r];',
  ];
  return m.flat(spec.name, WG, 'u.n', n, body);
}
