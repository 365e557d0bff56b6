import { dimRange, dimsEqual, dMul, dNumel, type Dim } from '../../ir/size-expr.js';
import { isFloat, type DType } from '../../ir/types.js';
import type { ReductionMath } from '../../ir/ops/registry.js';
import { identityIn, type ArgPick } from '../../ir/ops/reduce.js';
import type { EmittedKernel } from './kernel.js';
import { declareOutput, type Epilogue } from './epilogue.js';
import { FLAT_BUILTINS, flatIndex, grid1d, UniformBlock, wgslType } from '../wgsl.js';
import { KernelModule, unravel, type Source } from '../kernel-module.js';
import { isNanF32, wgslHelperDecls } from './wgsl-math.js';
import { wgslFloat } from '../../ir/wgsl-literal.js';

/** One invocation per output, or one workgroup per output with a tree in workgroup memory. */
export type ReduceVariant = 'invocation' | 'workgroup';

export interface ReduceKernelSpec {
  readonly name: string;
  /** Input dtype; also the output's, except for arg-reductions whose output is i32. */
  readonly dtype: DType;
  /** The node values bound for x (or the prologue's operands, in their order) and the output. */
  readonly sources: { readonly x: Source; readonly out: Source };
  /** How elements combine (sum, max, ...); omitted for arg-reductions. */
  readonly math?: ReductionMath;
  /** Makes this an arg-reduction: the output is the index of the extreme (NaN if any), the first one on ties. */
  readonly arg?: ArgPick;
  /** Arg-reductions only: the last index of equal extremes instead of the first. */
  readonly lastIndex?: boolean;
  /** Element offset of the input's first element (a view into a larger tensor); 0 when omitted. */
  readonly offset?: Dim;
  /** Extents and input strides of the kept dimensions (in output order) and the reduced ones. */
  readonly keptShape: readonly Dim[];
  readonly keptStrides: readonly Dim[];
  readonly reducedShape: readonly Dim[];
  readonly reducedStrides: readonly Dim[];
  /** Forces a variant (tests); otherwise `chooseReduceVariant` picks from the sizes. */
  readonly variant?: ReduceVariant;
  /**
   * Elementwise work fused before the reduction: operands `p0, p1, ...` (bound in place of `x`)
   * and the element from their loads. An operand is laid out like the reduced input, or, with
   * `strides`, broadcast to it: its strides along the kept and the reduced dimensions (0 where
   * it repeats), in the order of keptShape and reducedShape.
   */
  readonly prologue?: {
    readonly operands: readonly { readonly source: Source; readonly dtype: DType; readonly strides?: { readonly kept: readonly Dim[]; readonly reduced: readonly Dim[] } }[];
    readonly body: (xs: readonly string[]) => string;
    readonly helpers: readonly string[];
  };
  /** Elementwise work fused after it (fold reductions of floats only). */
  readonly epilogue?: Epilogue;
}

const WG = 64;
/**
 * Lanes of the workgroup-parallel variants (reductions, softmax, layer_norm): a power of two.
 * 64 rather than 256: lavapipe runs a workgroup with barriers as coroutines over 8-wide SIMD
 * chunks, and measured ~21 us per 256-lane workgroup against ~4 us per 64-lane one (the sum
 * of 1e6 elements: 3.3 ms at 256 lanes, 1.4 ms at 64); 64 is still a whole wavefront on GPUs.
 */
export const REDUCE_WG = 64;

/**
 * Which kernel reduces `count` elements into each of `outputs` results (also rows of softmax
 * and layer_norm: outputs = rows, count = row length). One invocation per output does
 * `count` serial steps on `outputs` lanes; one workgroup per output does count / REDUCE_WG
 * steps on outputs * REDUCE_WG lanes but pays for barriers and a tree. The workgroup wins
 * when the serial loop is long relative to how many outputs run side by side, so it is chosen
 * when count >= REDUCE_WG * outputs (which implies count >= REDUCE_WG, so no lane idles).
 * Measured on lavapipe (ms per dispatch, invocation vs workgroup): sum of 1e6 elements 7.6 vs
 * 1.4; sum [100,10000] over axis 1: 1.3-1.9 vs 1.6 (the break-even this threshold sits at);
 * [1000,1000]: 1.3 vs 3.7; [4096,256]: 1.1 vs 14.5; softmax [64,4096]: 5.3 vs 2.3 and
 * [1000,256]: 1.2 vs 8.1. Discrete GPUs want workgroups sooner (they have thousands of lanes
 * to fill); this AOT choice does not know the adapter yet, and errs towards software adapters.
 */
export function chooseReduceVariant(outputs: Dim, count: Dim): ReduceVariant {
  // Sizes that vary are judged at their largest values: both variants are right at any size.
  const [o, c] = [dimRange(outputs)[1], dimRange(count)[1]];
  return c >= REDUCE_WG * Math.max(1, o) ? 'workgroup' : 'invocation';
}

/** Entry-point parameters of a one-workgroup-per-item kernel. */
export const WORKGROUP_BUILTINS = '@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3<u32>';


/**
 * A WGSL f32 expression of any number: finite ones are literals; infinities and NaN, which a
 * WGSL constant expression may not produce (even through bitcast), come from uniform word `name`.
 */
export function f32Value(x: number, u: UniformBlock, name: string): string {
  if (Number.isFinite(x)) return wgslFloat(x);
  u.f32(name, x);
  return `bitcast<f32>(u.${name})`;
}

/** Floats accumulate in f32 (f16 too); integers in their own type, exactly (wrapping like the CPU's store). */
function accumulatorType(dtype: DType): string {
  return isFloat(dtype) ? 'f32' : wgslType(dtype);
}

/** A value of the accumulator type (already clamped to its range). */
function accLiteral(x: number, acc: string, u: UniformBlock): string {
  if (acc === 'f32') return f32Value(x, u, 'init');
  if (acc === 'i32') return x === -(2 ** 31) ? 'bitcast<i32>(0x80000000u)' : `i32(${x})`;
  return `${x}u`;
}

/**
 * WGSL lines that fold `sh[0..wg)` into `sh[0]` by halving, where `merge` combines slot `lid`
 * with slot `lid + s`. Every lane of the workgroup must run them (they hold barriers); they
 * start with a barrier so the caller's writes to `sh` are visible, and end with one so every
 * lane may read `sh[0]`. Unrolled: log2(wg) steps with constant strides, no loop around a barrier.
 */
export function workgroupTree(wg: number, merge: readonly string[], indent = '  '): string[] {
  const lines = ['workgroupBarrier();'];
  for (let s = wg / 2; s >= 1; s /= 2) {
    lines.push(`if (lid < ${s}u) {`, `  let s = ${s}u;`, ...merge.map((l) => `  ${l}`), '}', 'workgroupBarrier();');
  }
  return lines.map((l) => indent + l);
}

/**
 * Drops size-1 dimensions and merges neighbours that are one run (stride[i] = stride[i+1] *
 * shape[i+1]) in every one of the stride sets `sets` (one set per tensor read over `shape`).
 */
export function coalesce(shape: readonly Dim[], sets: readonly (readonly Dim[])[]): { shape: Dim[]; sets: Dim[][] } {
  const out = { shape: [] as Dim[], sets: sets.map(() => [] as Dim[]) };
  shape.forEach((d, i) => {
    if (d === 1) return;
    const last = out.shape.length - 1;
    if (last >= 0 && sets.every((st, k) => dimsEqual(out.sets[k]![last]!, dMul(st[i]!, d)))) {
      out.shape[last] = dMul(out.shape[last]!, d);
      sets.forEach((st, k) => { out.sets[k]![last] = st[i]!; });
    } else {
      out.shape.push(d);
      sets.forEach((st, k) => out.sets[k]!.push(st[i]!));
    }
  });
  return out;
}

/** How one kind of reduction keeps, advances, merges and finishes its per-lane state. */
interface Reducer {
  readonly outDType: DType;
  /** Declares the state of one lane. */
  readonly init: string[];
  /** Folds element value `x` (accumulator type) at reduced position `r` into the state. */
  step(x: string, r: string): string[];
  readonly sharedDecls: string[];
  readonly toShared: string[];
  /** Merges shared slot `lid + s` into slot `lid`. */
  readonly merge: string[];
  /** The output value from the lane's own state, or from shared slot 0 after the tree. */
  result(fromShared: boolean): string;
}

function foldReducer(math: ReductionMath, dtype: DType, acc: string, u: UniformBlock): Reducer {
  const finish = (a: string) => (math.finish ? math.finish.wgsl(a, `${acc}(u.count)`) : a);
  return {
    outDType: dtype,
    init: [`var acc: ${acc} = ${accLiteral(identityIn(math.init, dtype), acc, u)};`],
    step: (x) => [`acc = ${math.wgsl('acc', x, acc)};`],
    sharedDecls: [`var<workgroup> sh: array<${acc}, ${REDUCE_WG}>;`],
    toShared: ['sh[lid] = acc;'],
    merge: [`sh[lid] = ${math.wgsl('sh[lid]', 'sh[lid + s]', acc)};`],
    result: (fromShared) => finish(fromShared ? 'sh[0]' : 'acc'),
  };
}

function argReducer(pick: ArgPick, lastIndex: boolean, dtype: DType, acc: string, u: UniformBlock): Reducer {
  const float = acc === 'f32';
  const isNan = (v: string) => (float ? isNanF32(v) : 'false');
  // `beats(a, b)`: a is strictly more extreme than b, NaN beating every number (as the CPU reference).
  const beats = (a: string, b: string) => `(${a} ${pick === 'max' ? '>' : '<'} ${b}${float ? ` || (${isNan(a)} && !${isNan(b)})` : ''})`;
  const same = (a: string, b: string) => `(${a} == ${b}${float ? ` || (${isNan(a)} && ${isNan(b)})` : ''})`;
  const init = identityIn(pick === 'max' ? -Infinity : Infinity, dtype);
  return {
    outDType: 'i32',
    // Each lane walks its positions in ascending order: the first of equals stays by a strict
    // comparison, the last replaces it by a non-strict one (which every element passes against init).
    init: [`var best: ${acc} = ${accLiteral(init, acc, u)};`, 'var idx = 0u;'],
    step: (x, r) => [`let v = ${x};`, `if (${lastIndex ? `!${beats('best', 'v')}` : beats('v', 'best')}) { best = v; idx = ${r}; }`],
    sharedDecls: [`var<workgroup> shv: array<${acc}, ${REDUCE_WG}>;`, `var<workgroup> shi: array<u32, ${REDUCE_WG}>;`],
    toShared: ['shv[lid] = best;', 'shi[lid] = idx;'],
    // Lanes hold interleaved positions, so equal values must compare by index.
    merge: [
      'let ov = shv[lid + s];', 'let oi = shi[lid + s];', 'let cv = shv[lid];',
      `if (${beats('ov', 'cv')} || (${same('ov', 'cv')} && oi ${lastIndex ? '>' : '<'} shi[lid])) { shv[lid] = ov; shi[lid] = oi; }`,
    ],
    result: (fromShared) => (fromShared ? 'i32(shi[0])' : 'i32(idx)'),
  };
}

/** Emits a reduction over any axes: one invocation or one workgroup per output element. */
export function emitReduce(spec: ReduceKernelSpec): EmittedKernel {
  const n = dNumel(spec.keptShape);
  const count = dNumel(spec.reducedShape);
  const variant = spec.variant ?? chooseReduceVariant(n, count);
  const acc = accumulatorType(spec.dtype);
  // Reduced elements are usually one run of constant stride (1 when they are the innermost
  // dimensions): then an element's offset needs no division by the reduced extents. Operands
  // broadcast to the input (`bcast`) have offsets of their own, advanced alike.
  const pro = spec.prologue;
  const bcast = (pro?.operands ?? []).flatMap((o, k) => (o.strides ? [{ k, strides: o.strides }] : []));
  const red = coalesce(spec.reducedShape, [spec.reducedStrides, ...bcast.map((b) => b.strides.reduced)]);
  const [rstrides, ...bstrides] = red.sets as [Dim[], ...Dim[][]];
  const m = new KernelModule();
  const u = m.uniforms.scalar('n', n).scalar('count', count);
  const reducer = spec.arg ? argReducer(spec.arg, spec.lastIndex ?? false, spec.dtype, acc, u) : foldReducer(spec.math!, spec.dtype, acc, u);
  if (spec.keptShape.length) u.array('kshape', spec.keptShape).array('kstride', spec.keptStrides);
  bcast.forEach((b, j) => { if (spec.keptShape.length) u.array(`kstride${j}`, b.strides.kept); });
  const oneRun = red.shape.length <= 1;
  const unitStride = oneRun && (rstrides[0] ?? 1) === 1;
  if (oneRun && !unitStride) u.scalar('rstep', rstrides[0]!);
  if (oneRun) bstrides.forEach((st, j) => u.scalar(`rstep${j}`, st[0] ?? 0));
  if (!oneRun) {
    u.array('rshape', red.shape).array('rstride', rstrides);
    bstrides.forEach((st, j) => u.array(`rstride${j}`, st));
  }

  const wg = variant === 'workgroup' ? REDUCE_WG : WG;
  const L: string[] = [];
  if (variant === 'workgroup') {
    // Uniform per workgroup, so the early return keeps the barriers below in uniform control flow.
    L.push('  let i = wid.x + wid.y * nwg.x;', '  if (i >= u.n) { return; }');
  } else {
    L.push(`  let i = ${flatIndex(WG)};`, '  if (i >= u.n) { return; }');
  }
  if (spec.offset) u.scalar('xoff', spec.offset);
  L.push(`  var base = ${spec.offset ? 'u.xoff' : '0u'};`);
  const kept = spec.keptShape.length ? [{ name: 'kept', strides: 'u_kstride' }, ...bcast.map((_, j) => ({ name: `base${j}`, strides: `u_kstride${j}` }))] : [];
  L.push(...unravel('i', spec.keptShape.length, 'u_kshape', kept), ...(spec.keptShape.length ? ['  base += kept;'] : bcast.map((_, j) => `  let base${j} = 0u;`)));
  L.push(...reducer.init.map((l) => `  ${l}`));
  L.push(variant === 'workgroup'
    ? `  for (var r = lid; r < u.count; r += ${REDUCE_WG}u) {`
    : '  for (var r = 0u; r < u.count; r++) {');
  if (unitStride) L.push('    let off = base + r;');
  else if (oneRun) L.push('    let off = base + r * u.rstep;');
  if (oneRun) L.push(...bcast.map((_, j) => `    let off${j} = base${j} + r * u.rstep${j};`));
  else {
    L.push('    var off = base;', ...bcast.map((_, j) => `    var off${j} = base${j};`), '    var rr = r;', `    for (var d = ${red.shape.length}u; d > 0u; d--) {`,
      '      let c = rr % u_rshape(d - 1u);', '      off += c * u_rstride(d - 1u);', ...bcast.map((_, j) => `      off${j} += c * u_rstride${j}(d - 1u);`),
      '      rr = rr / u_rshape(d - 1u);', '    }');
  }
  if (pro) m.declare(...pro.helpers);
  const at = (k: number) => { const j = bcast.findIndex((b) => b.k === k); return j < 0 ? 'off' : `off${j}`; };
  const loads = pro ? pro.operands.map((o, k) => `${m.read(`p${k}`, o.dtype, o.source)}[${at(k)}]`) : [`${m.read('x', spec.dtype, spec.sources.x)}[off]`];
  const element = pro ? pro.body(loads) : loads[0]!;
  L.push(...reducer.step(`${acc}(${element})`, 'r').map((l) => `    ${l}`), '  }');
  const epi = spec.epilogue;
  if (epi && (spec.arg || acc !== 'f32')) throw new Error(`internal: ${spec.name}: only float fold reductions take an epilogue`);
  const storeAt = declareOutput(m, epi, reducer.outDType, spec.sources.out);
  const store = (result: string) => storeAt('i', result);
  if (variant === 'workgroup') {
    L.push(...reducer.toShared.map((l) => `  ${l}`), ...workgroupTree(REDUCE_WG, reducer.merge));
    L.push(`  if (lid == 0u) { ${store(reducer.result(true))} }`);
  } else {
    L.push(`  ${store(reducer.result(false))}`);
  }
  if (spec.math?.helpers) m.declare(...wgslHelperDecls(spec.math.helpers(acc)));
  if (variant === 'workgroup') m.declare(...reducer.sharedDecls);
  const builtins = variant === 'workgroup' ? WORKGROUP_BUILTINS : FLAT_BUILTINS;
  return m.kernel(spec.name, { workgroupSize: wg, builtins, body: L }, variant === 'workgroup' ? grid1d(n, 1) : grid1d(n, WG));
}

/** How the lanes working on one row split it: the building blocks of row-wise kernels. */
export interface RowLanes {
  /** Declarations the kernel needs at module scope (the f32 workgroup scratch `sh`). */
  readonly decls: string[];
  readonly builtins: string;
  /** Lines setting `let row` (returning past the last row, uniformly for a workgroup). */
  readonly rowIndex: string[];
  /** A loop running `body` for this lane's share of `j` in [0, extent). */
  loop(extent: string, body: readonly string[]): string[];
  /** Lines combining each lane's f32 `local` with `combine` into `let <result>`, the whole row's value in every lane. */
  allReduce(local: string, result: string, combine: (a: string, b: string) => string): string[];
  workgroups(rows: Dim): [Dim, Dim, Dim];
  readonly wgSize: number;
}

/** A row kernel over `rows` rows: the module's declarations, the lanes' own, then `main` running `body`. */
export function rowKernel(m: KernelModule, name: string, lanes: RowLanes, body: readonly string[], rows: Dim): EmittedKernel {
  m.declare(...lanes.decls);
  return m.kernel(name, { workgroupSize: lanes.wgSize, builtins: lanes.builtins, body }, lanes.workgroups(rows));
}

/** Row-wise building blocks for one invocation per row, or one REDUCE_WG-lane workgroup per row. */
export function rowLanes(variant: ReduceVariant, rowsExpr: string): RowLanes {
  if (variant === 'invocation') {
    return {
      decls: [], builtins: FLAT_BUILTINS, wgSize: WG,
      rowIndex: [`  let row = ${flatIndex(WG)};`, `  if (row >= ${rowsExpr}) { return; }`],
      loop: (extent, body) => [`  for (var j = 0u; j < ${extent}; j++) {`, ...body.map((l) => `    ${l}`), '  }'],
      allReduce: (local, result) => [`  let ${result} = ${local};`],
      workgroups: (rows) => grid1d(rows, WG),
    };
  }
  return {
    decls: [`var<workgroup> sh: array<f32, ${REDUCE_WG}>;`], builtins: WORKGROUP_BUILTINS, wgSize: REDUCE_WG,
    rowIndex: ['  let row = wid.x + wid.y * nwg.x;', `  if (row >= ${rowsExpr}) { return; }`],
    loop: (extent, body) => [`  for (var j = lid; j < ${extent}; j += ${REDUCE_WG}u) {`, ...body.map((l) => `    ${l}`), '  }'],
    // The barrier after reading sh[0] lets the next allReduce reuse `sh`.
    allReduce: (local, result, combine) => [
      `  sh[lid] = ${local};`, ...workgroupTree(REDUCE_WG, [`sh[lid] = ${combine('sh[lid]', 'sh[lid + s]')};`]),
      `  let ${result} = sh[0];`, '  workgroupBarrier();',
    ],
    workgroups: (rows) => grid1d(rows, 1),
  };
}
