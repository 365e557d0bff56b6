import type { EmittedKernel } from './kernel.js';
import type { DType } from '../../ir/types.js';
import { dNumel, type Dim } from '../../ir/size-expr.js';
import { KernelModule, type Source } from '../kernel-module.js';
import { movedDType } from './copy.js';
import { clampedIndex } from './gather.js';

/** gather_elements: out (the indices' shape) picks data along `axis` at each index, elsewhere at its own coordinates. */
export interface GatherElementsKernelSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly data: readonly Dim[];
  readonly indices: readonly Dim[];
  readonly axis: number;
  /** The node values bound for the data, the indices and the output. */
  readonly sources: { readonly data: Source; readonly indices: Source; readonly out: Source };
}

const WG = 256;

/**
 * Emits gather_elements, an invocation per output element: its coordinates in the indices'
 * shape, the one along `axis` replaced by the index there, address the data through its strides.
 * Indices are normalised and clamped as emitGather's (clampedIndex); the CPU reference rejects
 * an index out of range instead.
 */
export function emitGatherElements(spec: GatherElementsKernelSpec): EmittedKernel {
  const rank = spec.indices.length;
  const n = dNumel(spec.indices);
  const t = movedDType(spec.dtype);
  const m = new KernelModule();
  m.uniforms.scalar('n', n).scalar('extent', spec.data[spec.axis]!);
  for (let k = 0; k < rank; k++) m.uniforms.scalar(`i${k}`, spec.indices[k]!).scalar(`s${k}`, dNumel(spec.data.slice(k + 1)));
  m.read('data', t, spec.sources.data);
  m.read('indices', 'i32', spec.sources.indices);
  m.write('out', t, spec.sources.out);
  const body = [
    ...clampedIndex('indices[i]', 'picked'),
    '  var rest = i;',
    '  var at = 0u;',
  ];
  // From the last dimension in: each coordinate of i in the indices' shape, weighted by the data's stride.
  for (let k = rank - 1; k >= 0; k--) {
    body.push(`  let c${k} = rest % u.i${k};`, `  rest = rest / u.i${k};`, `  at += ${k === spec.axis ? 'picked' : `c${k}`} * u.s${k};`);
  }
  body.push('  out[i] = data[at];');
  return m.flat(spec.name, WG, 'u.n', n, body);
}
