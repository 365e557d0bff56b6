import type { DType } from '../../ir/types.js';
import { dAdd, dNumel, type Dim } from '../../ir/size-expr.js';
import type { View } from '../../ir/view.js';
import { wgslType } from '../wgsl.js';
import { KernelModule, type Source } from '../kernel-module.js';
import { movedDType } from './copy.js';
import type { EmittedKernel } from './kernel.js';

/** One source of a concatenation: the node value bound for it, and the view it is read through. */
export interface ConcatPart {
  readonly source: Source;
  /** Its extent along the axis is the part's slab of the output. */
  readonly view: View;
}

/** A concatenation in one dispatch, each source read through a strided view of its buffer. */
export interface ConcatKernelSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly outShape: readonly Dim[];
  readonly axis: number;
  readonly parts: readonly ConcatPart[];
  /** The node value the kernel writes. */
  readonly out: Source;
  /**
   * A channel shuffle of the result along `axis` (groups g): output position j takes concatenated
   * position (j % g) * (C / g) + j / g, so concat + shuffle is one pass over the data.
   */
  readonly shuffleGroups?: number;
  /** Float dtype of the output when the kernel also casts (f16 <-> f32) what it copies. */
  readonly outDType?: DType;
}

const WG = 256;

/**
 * One invocation per output element: its coordinate along the axis picks the part (after the
 * optional shuffle), the rest index that part's view. Shapes, strides and slab starts are
 * uniforms; the number of parts and the rank are in the shader text.
 */
export function emitConcat(spec: ConcatKernelSpec): EmittedKernel {
  const rank = spec.outShape.length;
  const n = dNumel(spec.outShape);
  // Plain copies move bits (f32 as u32); a converting one reads and writes real floats.
  const converts = spec.outDType !== undefined && spec.outDType !== spec.dtype;
  const t = converts ? spec.dtype : movedDType(spec.dtype);
  const tOut = converts ? spec.outDType! : t;
  const starts: Dim[] = [];
  let at: Dim = 0;
  for (const p of spec.parts) { starts.push(at); at = dAdd(at, p.view.shape[spec.axis]!); }
  const m = new KernelModule();
  const u = m.uniforms.array('shape', spec.outShape).array('starts', starts);
  spec.parts.forEach((p, k) => u.array(`st${k}`, p.view.strides).scalar(`off${k}`, p.view.offset));
  u.scalar('n', n).scalar('axis', spec.axis).scalar('groups', spec.shuffleGroups ?? 1).scalar('extent', spec.outShape[spec.axis]!);
  spec.parts.forEach((p, k) => m.read(`s${k}`, t, p.source));
  m.write('dst', tOut, spec.out);
  const L: string[] = [
    `  var coord: array<u32, ${rank}>;`, '  var rem = i;',
    `  for (var d = ${rank}u; d > 0u; d--) {`, '    coord[d - 1u] = rem % u_shape(d - 1u);', '    rem = rem / u_shape(d - 1u);', '  }',
    '  var c = coord[u.axis];',
    '  if (u.groups > 1u) { c = (c % u.groups) * (u.extent / u.groups) + c / u.groups; }',
  ];
  spec.parts.forEach((_, k) => {
    const last = k === spec.parts.length - 1;
    L.push(`  ${k ? '} else ' : ''}if (${last ? 'true' : `c < u_starts(${k + 1}u)`}) {`);
    L.push(`    coord[u.axis] = c - u_starts(${k}u);`, `    var o = u.off${k};`);
    L.push(`    for (var d = 0u; d < ${rank}u; d++) { o += coord[d] * u_st${k}(d); }`, `    dst[i] = ${converts ? `${wgslType(tOut)}(s${k}[o])` : `s${k}[o]`};`);
  });
  L.push('  }');
  return m.flat(spec.name, WG, 'u.n', n, L);
}
