import type { DType } from '../../ir/types.js';
import { dAdd, dCeilDiv, dFloorDiv, dimRange, dIsMultiple, dNumel, type Dim } from '../../ir/size-expr.js';
import { isDense } from './elementwise.js';
import { reshapeView, type View } from '../../ir/view.js';
import { MAX_WORKGROUPS_PER_DIMENSION, wgslType } from '../wgsl.js';
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
  /** 'loops' where concatLoops offers it (software adapters), else one invocation an element or four ('flat'). */
  readonly variant?: ConcatVariant;
}

export type ConcatVariant = 'flat' | 'loops';

const WG = 256;
const WG4 = 64;

/**
 * The dtypes a concat kernel reads (`t`) and writes (`tOut`): plain copies move bits (f32 as
 * u32); a converting one (`converts`, f16 <-> f32) reads and writes real floats.
 */
function copiedTypes(spec: ConcatKernelSpec): { converts: boolean; t: DType; tOut: DType } {
  const converts = spec.outDType !== undefined && spec.outDType !== spec.dtype;
  const t = converts ? spec.dtype : movedDType(spec.dtype);
  return { converts, t, tOut: converts ? spec.outDType! : t };
}

/**
 * One invocation per output element: its coordinate along the axis picks the part (after the
 * optional shuffle), the rest index that part's view. Shapes, strides and slab starts are
 * uniforms; the number of parts and the rank are in the shader text.
 */
export function emitConcat(spec: ConcatKernelSpec): EmittedKernel {
  const rows = rowViews(spec);
  if (spec.variant === 'loops' && rows && loopsFit(spec)) return emitConcatLoops(spec, rows);
  if (slabsOf4(spec)) return emitConcat4(spec);
  if (rows) return emitConcatRows(spec, rows);
  const rank = spec.outShape.length;
  const n = dNumel(spec.outShape);
  const { converts, t, tOut } = copiedTypes(spec);
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

/** A part's slab: its elements from the axis inward, which it fills in each outer row of the output. */
function slab(spec: ConcatKernelSpec, p: ConcatPart): Dim {
  return dNumel(p.view.shape.slice(spec.axis));
}

/** Whether every part is a whole dense tensor whose slab is a multiple of 4 elements (and there is no shuffle). */
function slabsOf4(spec: ConcatKernelSpec): boolean {
  return spec.shuffleGroups === undefined && spec.parts.every((p) => p.view.offset === 0
    && isDense(p.view.strides, p.view.shape) && dIsMultiple(slab(spec, p), 4));
}

/**
 * The concatenation as vec4 copies, for parts that are dense with slabs of a multiple of 4
 * elements: an output row (one index of the dims before the axis) is the parts' slabs one after
 * another, so each group of four outputs comes from four consecutive elements of one part. Two
 * divisions per four elements instead of two per dimension per element, and one load a lane.
 */
function emitConcat4(spec: ConcatKernelSpec): EmittedKernel {
  const { converts, t, tOut } = copiedTypes(spec);
  const m = new KernelModule();
  const u = m.uniforms;
  const n4 = dFloorDiv(dNumel(spec.outShape), 4);
  let row: Dim = 0;
  spec.parts.forEach((p, k) => {
    u.scalar(`start${k}`, dFloorDiv(row, 4)).scalar(`len${k}`, dFloorDiv(slab(spec, p), 4));
    row = dAdd(row, slab(spec, p));
  });
  u.scalar('n4', n4).scalar('row4', dFloorDiv(row, 4));
  spec.parts.forEach((p, k) => m.readVec4(`s${k}`, t, p.source));
  m.writeVec4('dst', tOut, spec.out);
  const L = ['  let outer = i / u.row4;', '  let r = i - outer * u.row4;'];
  spec.parts.forEach((_, k) => {
    const last = k === spec.parts.length - 1;
    const load = `s${k}[outer * u.len${k} + r - u.start${k}]`;
    L.push(`  ${k ? '} else ' : ''}if (${last ? 'true' : `r < u.start${k + 1}`}) {`, `    dst[i] = ${converts ? `vec4<${wgslType(tOut)}>(${load})` : load};`);
  });
  L.push('  }');
  return m.flat(spec.name, WG4, 'u.n4', n4, L);
}

/**
 * Each part's view as [outer, its extent along the axis, inner] (the dimensions before the axis
 * merged, and those after it), or undefined when some part's strides do not merge so.
 */
function rowViews(spec: ConcatKernelSpec): View[] | undefined {
  const outer = dNumel(spec.outShape.slice(0, spec.axis));
  const inner = dNumel(spec.outShape.slice(spec.axis + 1));
  const views = spec.parts.map((p) => reshapeView(p.view, [outer, p.view.shape[spec.axis]!, inner]));
  return views.every((v) => v !== undefined) ? views as View[] : undefined;
}

/**
 * The concatenation over [outer, axis, inner] views of its parts: two divisions an invocation
 * (a software adapter has no vector divide, so the unravelling of every dimension cost a copy
 * 30x its time), and four elements an invocation where the inner run of every part is contiguous
 * and aligned (a KV cache's past keys and the new token's, read from the fused projection).
 */
function emitConcatRows(spec: ConcatKernelSpec, views: readonly View[]): EmittedKernel {
  const inner = views[0]!.shape[2]!;
  const m = new KernelModule();
  const { by4, lanes, converts, cast } = rowsModule(spec, views, m);
  const u = m.uniforms;
  const n = dFloorDiv(dNumel(spec.outShape), lanes);
  u.scalar('n', n).scalar('inner', dFloorDiv(inner, lanes)).scalar('extent', spec.outShape[spec.axis]!).scalar('groups', spec.shuffleGroups ?? 1);
  const L = [
    '  let q = i / u.inner;', '  let j = i - q * u.inner;', '  let o = q / u.extent;', '  var c = q - o * u.extent;',
    '  if (u.groups > 1u) { c = (c % u.groups) * (u.extent / u.groups) + c / u.groups; }',
  ];
  views.forEach((_, k) => {
    const last = k === views.length - 1;
    const load = `s${k}[u.off${k} + o * u.so${k} + (c - u.start${k}) * u.sa${k} + j * u.si${k}]`;
    L.push(`  ${k ? '} else ' : ''}if (${last ? 'true' : `c < u.start${k + 1}`}) {`, `    dst[i] = ${converts ? `${cast}(${load})` : load};`);
  });
  L.push('  }');
  return m.flat(spec.name, by4 ? WG4 : WG, 'u.n', n, L);
}

/**
 * The bindings and per-part uniforms of a concatenation over [outer, axis, inner] views, and how
 * it copies (a load's lanes, whether it converts, the cast it writes with): four
 * elements a load and store where the inner run of every part is contiguous and aligned (a KV
 * cache's past keys and the new token's, read from the fused projection); `start` is a part's
 * first index along the axis, `off`, `so`, `sa`, `si` its view's offset and strides, in loads.
 */
function rowsModule(spec: ConcatKernelSpec, views: readonly View[], m: KernelModule): { by4: boolean; lanes: number; converts: boolean; cast: string } {
  const { converts, t, tOut } = copiedTypes(spec);
  const inner = views[0]!.shape[2]!;
  const by4 = dIsMultiple(inner, 4) && views.every((v) => v.strides[2] === 1)
    && views.every((v) => [v.offset, v.strides[0]!, v.strides[1]!].every((d) => dIsMultiple(d, 4)));
  const lanes = by4 ? 4 : 1;
  let start: Dim = 0;
  views.forEach((v, k) => {
    m.uniforms.scalar(`start${k}`, start).scalar(`off${k}`, dFloorDiv(v.offset, lanes)).scalar(`so${k}`, dFloorDiv(v.strides[0]!, lanes))
      .scalar(`sa${k}`, dFloorDiv(v.strides[1]!, lanes)).scalar(`si${k}`, v.strides[2]!);
    start = dAdd(start, v.shape[1]!);
  });
  spec.parts.forEach((p, k) => (by4 ? m.readVec4(`s${k}`, t, p.source) : m.read(`s${k}`, t, p.source)));
  if (by4) m.writeVec4('dst', tOut, spec.out); else m.write('dst', tOut, spec.out);
  return { by4, lanes, converts, cast: by4 ? `vec4<${wgslType(tOut)}>` : wgslType(tOut) };
}

/** Invocations of a workgroup of the 'loops' variant (one SIMD row of lavapipe's), and the loads of an output row each workgroup copies. */
const LOOP_LANES = 8;
const LOOP_CHUNK = 512;

/**
 * Whether the 'loops' variant serves a concatenation: its parts are [outer, axis, inner] views
 * (rowViews), without a channel shuffle, with output rows of at least 64 elements (shorter ones
 * would leave a workgroup's lanes idle) and at most MAX_WORKGROUPS_PER_DIMENSION of them.
 */
export function concatLoops(spec: ConcatKernelSpec): boolean {
  return loopsFit(spec) && rowViews(spec) !== undefined;
}

/** concatLoops's conditions but the views'. */
function loopsFit(spec: ConcatKernelSpec): boolean {
  const row = dimRange(dNumel(spec.outShape.slice(spec.axis)))[0];
  const outer = dimRange(dNumel(spec.outShape.slice(0, spec.axis)))[1];
  return spec.shuffleGroups === undefined && row >= 64 && outer <= MAX_WORKGROUPS_PER_DIMENSION;
}

/**
 * The concatenation by loops, for software adapters: a workgroup of 8 lanes copies LOOP_CHUNK
 * loads of one output row (an index of the dimensions before the axis), each part's run within
 * it a loop of its own, so no invocation tests which part it reads and the index arithmetic is
 * paid once a loop step of 8 loads instead of once an invocation. A KV cache's append ([1, 12,
 * 128, 64] + [1, 12, 1, 64]) took 0.24-0.25 ms against 0.38-0.43 for the flat kernel (lavapipe,
 * medians of 7 rounds of 48 dispatches, a standalone script).
 */
function emitConcatLoops(spec: ConcatKernelSpec, views: readonly View[]): EmittedKernel {
  const m = new KernelModule();
  const { lanes, converts, cast } = rowsModule(spec, views, m);
  const row = dFloorDiv(dNumel(spec.outShape.slice(spec.axis)), lanes);
  const inner = dFloorDiv(views[0]!.shape[2]!, lanes);
  m.uniforms.scalar('row', row).scalar('inner', inner);
  const L = [
    '  let o = wid.y;', `  let lo = wid.x * ${LOOP_CHUNK}u;`, `  let hi = min(lo + ${LOOP_CHUNK}u, u.row);`, '  let b = o * u.row;',
  ];
  views.forEach((v, k) => {
    const first = `u.start${k} * u.inner`;
    const end = k === views.length - 1 ? 'hi' : `min(hi, u.start${k + 1} * u.inner)`;
    const load = `s${k}[u.off${k} + o * u.so${k} + c * u.sa${k} + j * u.si${k}]`;
    L.push(
      `  for (var r = max(lo, ${first}) + lid.x; r < ${end}; r += ${LOOP_LANES}u) {`,
      `    let q = r - ${first};`, '    let c = q / u.inner;', '    let j = q - c * u.inner;',
      `    dst[b + r] = ${converts ? `${cast}(${load})` : load};`, '  }',
    );
  });
  const outer = dNumel(spec.outShape.slice(0, spec.axis));
  return m.kernel(spec.name, { workgroupSize: LOOP_LANES, builtins: '@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>', body: L }, [dCeilDiv(row, LOOP_CHUNK), outer, 1]);
}
