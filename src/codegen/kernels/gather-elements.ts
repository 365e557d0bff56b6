import type { EmittedKernel } from './kernel.js';
import type { DType } from '../../ir/types.js';
import { dNumel, type Dim } from '../../ir/size-expr.js';
import type { Source } from '../kernel-module.js';
import { movedDType } from './copy.js';
import { clampedIndex, indexingModule } from './gather.js';
import { wgslType } from '../wgsl.js';
import { nanPropagatingF32 } from './wgsl-math.js';

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
  const m = indexingModule(t, spec.sources);
  m.uniforms.scalar('n', n).scalar('extent', spec.data[spec.axis]!);
  for (let k = 0; k < rank; k++) m.uniforms.scalar(`i${k}`, spec.indices[k]!).scalar(`s${k}`, dNumel(spec.data.slice(k + 1)));
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

/** How a scatter combines an update with the element there (ONNX's `reduction`, see SCATTER_REDUCTIONS). */
export type ScatterReduction = 'none' | 'add' | 'mul' | 'max' | 'min';

/** scatter_elements: a copy of the data, each element combined with the updates whose index lands on it. */
export interface ScatterElementsKernelSpec extends Omit<GatherElementsKernelSpec, 'sources'> {
  readonly reduction: ScatterReduction;
  readonly sources: GatherElementsKernelSpec['sources'] & { readonly updates: Source };
}

/**
 * How a scatter folds update `v` into `acc` (ONNX's reduction): 'none' overwrites, max and min
 * of floats propagate NaN (WGSL's leave it undefined), as the reference does.
 */
export function scatterFold(reduction: ScatterReduction, float: boolean): string {
  if (reduction === 'none') return 'v';
  if (reduction === 'add') return 'acc + v';
  if (reduction === 'mul') return 'acc * v';
  return float ? nanPropagatingF32(reduction, 'f32(acc)', 'f32(v)') : `${reduction}(acc, v)`;
}

/**
 * Emits scatter_elements, an invocation per output element, so that no two write one element
 * (WGSL has no float atomics): it starts from the data and walks the indices' positions that
 * share its coordinates off the axis, in order, folding in each update whose index lands on it
 * ('none': the last wins; max and min propagate NaN, as the reference does). An index out of
 * range lands nowhere; the CPU reference rejects it.
 */
export function emitScatterElements(spec: ScatterElementsKernelSpec): EmittedKernel {
  const rank = spec.data.length;
  const n = dNumel(spec.data);
  // 'none' copies elements as bits (bool too); the folds compute in the dtype.
  const stored = spec.reduction === 'none' ? movedDType(spec.dtype) : spec.dtype;
  const m = indexingModule(stored, spec.sources);
  const t = wgslType(stored);
  const float = stored === 'f32' || stored === 'f16';
  m.uniforms.scalar('n', n).scalar('extent', spec.data[spec.axis]!).scalar('along', spec.indices[spec.axis]!);
  for (let k = 0; k < rank; k++) m.uniforms.scalar(`d${k}`, spec.data[k]!).scalar(`e${k}`, spec.indices[k]!).scalar(`t${k}`, dNumel(spec.indices.slice(k + 1)));
  const body = ['  var rest = i;', '  var inside = true;', '  var base = 0u;'];
  // This element's coordinates; off the axis, each must lie within the indices' extent.
  for (let k = rank - 1; k >= 0; k--) {
    body.push(`  let c${k} = rest % u.d${k};`, `  rest = rest / u.d${k};`);
    if (k !== spec.axis) body.push(`  inside = inside && c${k} < u.e${k};`, `  base += c${k} * u.t${k};`);
  }
  body.push(
    '  var acc = data[i];',
    '  if (inside) {',
    '    for (var j = 0u; j < u.along; j++) {',
    `      let p = base + j * u.t${spec.axis};`,
    '      var idx = indices[p];',
    '      if (idx < 0) { idx += i32(u.extent); }',
    `      if (idx != i32(c${spec.axis})) { continue; }`,
    '      let v = updates[p];',
    `      acc = ${t}(${scatterFold(spec.reduction, float)});`,
    '    }',
    '  }',
    '  out[i] = acc;',
  );
  return m.flat(spec.name, WG, 'u.n', n, body);
}
