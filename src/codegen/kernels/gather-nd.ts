import type { EmittedKernel } from './kernel.js';
import type { DType } from '../../ir/types.js';
import { dNumel, type Dim } from '../../ir/size-expr.js';
import { KernelModule, type Source } from '../kernel-module.js';
import { movedDType } from './copy.js';
import { indexingModule } from './gather.js';
import { wgslType } from '../wgsl.js';
import { scatterFold, type ScatterReduction } from './gather-elements.js';

// gather_nd and scatter_nd (ONNX GatherND, ScatterND): index tuples of length k in the last axis
// of the indices address slices of the data after its batch dimensions (see ndLayout).

/** An _nd layout: `batch` leading dimensions shared, `rows` tuples a batch entry, slices of `slice` elements. */
export interface NdKernelLayout {
  readonly batch: Dim;
  readonly rows: Dim;
  readonly slice: Dim;
  /** The data's extents and strides along the k addressed dimensions. */
  readonly addressed: readonly { readonly extent: Dim; readonly stride: Dim }[];
}

/** The data's extents viewed for an _nd op: `batchDims` leading, then k addressed, then the slice. */
export function ndKernelLayout(data: readonly Dim[], indices: readonly Dim[], batchDims: number): NdKernelLayout {
  const k = indices[indices.length - 1] as number;
  return {
    batch: dNumel(data.slice(0, batchDims)),
    rows: dNumel(indices.slice(batchDims, indices.length - 1)),
    slice: dNumel(data.slice(batchDims + k)),
    addressed: Array.from({ length: k }, (_, j) => ({ extent: data[batchDims + j]!, stride: dNumel(data.slice(batchDims + j + 1)) })),
  };
}

const WG = 256;

/** Lines making `var at` the data offset of tuple `tuple` (a flat index of its first element in the indices) in batch entry `b`. */
function tupleOffset(m: KernelModule, layout: NdKernelLayout, tuple: string, b: string, clamp: boolean): string[] {
  m.uniforms.scalar('slice', layout.slice).scalar('rows', layout.rows).scalar('entry', dNumel([layout.slice, ...layout.addressed.map((a) => a.extent)]));
  layout.addressed.forEach((a, j) => m.uniforms.scalar(`e${j}`, a.extent).scalar(`s${j}`, a.stride));
  const lines = [`  var at = ${b} * u.entry;`, '  var valid = true;'];
  layout.addressed.forEach((_, j) => {
    lines.push(`  var x${j} = indices[${tuple} + ${j}u];`, `  if (x${j} < 0) { x${j} += i32(u.e${j}); }`);
    // A gather clamps an index out of range (deterministic); a scatter's lands nowhere.
    lines.push(clamp ? `  x${j} = clamp(x${j}, 0, i32(u.e${j}) - 1);` : `  valid = valid && x${j} >= 0 && x${j} < i32(u.e${j});`);
    lines.push(`  at += u32(max(x${j}, 0)) * u.s${j};`);
  });
  return lines;
}

/** gather_nd: an invocation per output element (tuple, then slice element). */
export function emitGatherNd(spec: { name: string; dtype: DType; layout: NdKernelLayout; k: number; sources: { data: Source; indices: Source; out: Source } }): EmittedKernel {
  const { layout } = spec;
  const n = dNumel([layout.batch, layout.rows, layout.slice]);
  const t = movedDType(spec.dtype);
  const m = indexingModule(t, spec.sources);
  m.uniforms.scalar('n', n);
  const body = [
    '  let r = i % u.slice;',
    '  let q = i / u.slice;',
    '  let b = q / u.rows;',
    ...tupleOffset(m, layout, `q * ${spec.k}u`, 'b', true),
    '  out[i] = data[at + r];',
  ];
  return m.flat(spec.name, WG, 'u.n', n, body);
}

/**
 * scatter_nd: an invocation per output element, so that no two write one element; it walks
 * every index tuple in order, folding in the update element of each whose slice holds it ('none':
 * the last wins; max and min propagate NaN, as the reference does).
 */
export function emitScatterNd(spec: { name: string; dtype: DType; layout: NdKernelLayout; k: number; reduction: ScatterReduction; sources: { data: Source; indices: Source; updates: Source; out: Source } }): EmittedKernel {
  const { layout } = spec;
  const stored = spec.reduction === 'none' ? movedDType(spec.dtype) : spec.dtype;
  const t = wgslType(stored);
  const float = stored === 'f32' || stored === 'f16';
  const n = dNumel([layout.slice, ...layout.addressed.map((a) => a.extent)]);
  const m = indexingModule(stored, spec.sources);
  m.uniforms.scalar('n', n);
  const body = [
    '  var acc = data[i];',
    '  let r = i % u.slice;',
    '  for (var q = 0u; q < u.rows; q++) {',
    ...tupleOffset(m, layout, `q * ${spec.k}u`, '0u', false).map((l) => `  ${l}`),
    '    if (!valid || at != i - r) { continue; }',
    '    let v = updates[q * u.slice + r];',
    `    acc = ${t}(${scatterFold(spec.reduction, float)});`,
    '  }',
    '  out[i] = acc;',
  ];
  return m.flat(spec.name, WG, 'u.n', n, body);
}
