import { isFloat, type DType } from '../../ir/types.js';
import type { ReductionMath } from '../../ir/ops/registry.js';
import { reductionInit, type ArgPick } from '../../ir/ops/reduce.js';
import type { EmittedKernel } from './kernel.js';
import { enables, flatIndex, grid1d, storageDecl, UniformBlock, wgslType } from '../wgsl.js';

/** One invocation per output, or one workgroup per output with a tree in workgroup memory. */
export type ReduceVariant = 'invocation' | 'workgroup';

export interface ReduceKernelSpec {
  readonly name: string;
  /** Input dtype; also the output's, except for arg-reductions whose output is i32. */
  readonly dtype: DType;
  /** How elements combine (sum, max, ...); omitted for arg-reductions. */
  readonly math?: ReductionMath;
  /** Makes this an arg-reduction: the output is the index of the extreme, the first one on ties. */
  readonly arg?: ArgPick;
  /** Extents and input strides of the kept dimensions (in output order) and the reduced ones. */
  readonly keptShape: readonly number[];
  readonly keptStrides: readonly number[];
  readonly reducedShape: readonly number[];
  readonly reducedStrides: readonly number[];
  /** Forces a variant (tests); otherwise `chooseReduceVariant` picks from the sizes. */
  readonly variant?: ReduceVariant;
}

const WG = 64;
/** Lanes of the workgroup-parallel variants (reductions, softmax, layer_norm): a power of two. */
export const REDUCE_WG = 256;

/**
 * Reduced elements per output from which one workgroup per output beats one invocation.
 * Below REDUCE_WG elements most lanes of a workgroup would idle; and once there are at least
 * as many outputs as reduced elements, one invocation per output already gives the device
 * more parallel work than it has lanes for, without the tree's barriers. So a workgroup per
 * output is chosen when count >= REDUCE_WG and count >= outputs: e.g. the sum of 1e6
 * elements becomes 256 lanes of ~4k each instead of one invocation looping a million times.
 */
export function chooseReduceVariant(outputs: number, count: number): ReduceVariant {
  return count >= REDUCE_WG && count >= outputs ? 'workgroup' : 'invocation';
}

/**
 * Kernel shape of row-wise kernels (softmax, layer_norm): one workgroup per row once a row
 * has at least REDUCE_WG elements, so every lane has work and a long row is not one lane's
 * serial loop; shorter rows (class logits, small hidden sizes) take one invocation each,
 * which needs no barriers and keeps neighbouring lanes on neighbouring rows.
 */
export function chooseRowVariant(rowLength: number): ReduceVariant {
  return rowLength >= REDUCE_WG ? 'workgroup' : 'invocation';
}

/** Entry-point parameters of a one-workgroup-per-item kernel, and the item index line. */
export const WORKGROUP_BUILTINS = '@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3<u32>';
/** Entry-point parameters of a one-invocation-per-item kernel using `flatIndex`. */
export const INVOCATION_BUILTINS = '@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>';

/** A WGSL f32 literal for any number, infinities included. */
export function f32Literal(x: number): string {
  if (x === Infinity) return 'bitcast<f32>(0x7f800000u)';
  if (x === -Infinity) return 'bitcast<f32>(0xff800000u)';
  if (Number.isNaN(x)) return 'bitcast<f32>(0x7fc00000u)';
  const s = String(Math.fround(x));
  return /[.e]/.test(s) ? `f32(${s})` : `f32(${s}.0)`;
}

/** The bits of `x` rounded to f32, as a u32 uniform word read back with `bitcast<f32>`. */
export function f32Word(x: number): number {
  return new Uint32Array(new Float32Array([x]).buffer)[0]!;
}

/** Floats accumulate in f32 (f16 too); integers in their own type, exactly (wrapping like the CPU's store). */
function accumulatorType(dtype: DType): string {
  return isFloat(dtype) ? 'f32' : wgslType(dtype);
}

/** A literal of the accumulator type (already clamped to its range). */
function accLiteral(x: number, acc: string): string {
  if (acc === 'f32') return f32Literal(x);
  if (acc === 'i32') return x === -(2 ** 31) ? 'bitcast<i32>(0x80000000u)' : `i32(${x})`;
  return `${x}u`;
}

/**
 * WGSL lines that fold `sh[0..wg)` into `sh[0]` by halving, where `merge` combines slot `lid`
 * with slot `lid + s`. Every lane of the workgroup must run them (they hold barriers); they
 * start with a barrier so the caller's writes to `sh` are visible, and end with one so every
 * lane may read `sh[0]`.
 */
export function workgroupTree(wg: number, merge: readonly string[], indent = '  '): string[] {
  return [
    'workgroupBarrier();',
    `for (var s = ${wg / 2}u; s > 0u; s = s >> 1u) {`,
    '  if (lid < s) {',
    ...merge.map((l) => `    ${l}`),
    '  }',
    '  workgroupBarrier();',
    '}',
  ].map((l) => indent + l);
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

function foldReducer(math: ReductionMath, dtype: DType, acc: string): Reducer {
  const finish = (a: string) => (math.finish ? math.finish.wgsl(a, `${acc}(u.count)`) : a);
  return {
    outDType: dtype,
    init: [`var acc: ${acc} = ${accLiteral(reductionInit(math, dtype), acc)};`],
    step: (x) => [`acc = ${math.wgsl('acc', x)};`],
    sharedDecls: [`var<workgroup> sh: array<${acc}, ${REDUCE_WG}>;`],
    toShared: ['sh[lid] = acc;'],
    merge: [`sh[lid] = ${math.wgsl('sh[lid]', 'sh[lid + s]')};`],
    result: (fromShared) => finish(fromShared ? 'sh[0]' : 'acc'),
  };
}

function argReducer(pick: ArgPick, dtype: DType, acc: string): Reducer {
  const better = pick === 'max' ? '>' : '<';
  const init = reductionInit({ init: pick === 'max' ? -Infinity : Infinity, cpu: () => 0, wgsl: () => '' }, dtype);
  return {
    outDType: 'i32',
    // A strict comparison keeps the first index on ties within a lane's ascending walk.
    init: [`var best: ${acc} = ${accLiteral(init, acc)};`, 'var idx = 0u;'],
    step: (x, r) => [`let v = ${x};`, `if (v ${better} best) { best = v; idx = ${r}; }`],
    sharedDecls: [`var<workgroup> shv: array<${acc}, ${REDUCE_WG}>;`, `var<workgroup> shi: array<u32, ${REDUCE_WG}>;`],
    toShared: ['shv[lid] = best;', 'shi[lid] = idx;'],
    // Lanes hold interleaved positions, so equal values must compare by index to keep the first.
    merge: [
      'let ov = shv[lid + s];', 'let oi = shi[lid + s];',
      `if (ov ${better} shv[lid] || (ov == shv[lid] && oi < shi[lid])) { shv[lid] = ov; shi[lid] = oi; }`,
    ],
    result: (fromShared) => (fromShared ? 'i32(shi[0])' : 'i32(idx)'),
  };
}

/** Emits a reduction over any axes: one invocation or one workgroup per output element. */
export function emitReduce(spec: ReduceKernelSpec): EmittedKernel {
  const n = spec.keptShape.reduce((p, d) => p * d, 1);
  const count = spec.reducedShape.reduce((p, d) => p * d, 1);
  const variant = spec.variant ?? chooseReduceVariant(n, count);
  const acc = accumulatorType(spec.dtype);
  const reducer = spec.arg ? argReducer(spec.arg, spec.dtype, acc) : foldReducer(spec.math!, spec.dtype, acc);
  // The reduced elements are one contiguous run when they are the innermost dimensions.
  const contiguous = spec.reducedStrides.every((s, i) => s === spec.reducedShape.slice(i + 1).reduce((p, d) => p * d, 1));
  const u = new UniformBlock().scalar('n', n).scalar('count', count);
  if (spec.keptShape.length) u.array('kshape', spec.keptShape).array('kstride', spec.keptStrides);
  if (!contiguous) u.array('rshape', spec.reducedShape).array('rstride', spec.reducedStrides);

  const wg = variant === 'workgroup' ? REDUCE_WG : WG;
  const L: string[] = [];
  if (variant === 'workgroup') {
    // Uniform per workgroup, so the early return keeps the barriers below in uniform control flow.
    L.push('  let i = wid.x + wid.y * nwg.x;', '  if (i >= u.n) { return; }');
  } else {
    L.push(`  let i = ${flatIndex(WG)};`, '  if (i >= u.n) { return; }');
  }
  L.push('  var base = 0u;');
  if (spec.keptShape.length) {
    L.push('  var rem = i;', `  for (var d = ${spec.keptShape.length}u; d > 0u; d--) {`,
      '    base += (rem % u_kshape(d - 1u)) * u_kstride(d - 1u);', '    rem = rem / u_kshape(d - 1u);', '  }');
  }
  L.push(...reducer.init.map((l) => `  ${l}`));
  L.push(variant === 'workgroup'
    ? `  for (var r = lid; r < u.count; r += ${REDUCE_WG}u) {`
    : '  for (var r = 0u; r < u.count; r++) {');
  if (contiguous) L.push('    let off = base + r;');
  else {
    L.push('    var off = base;', '    var rr = r;', `    for (var d = ${spec.reducedShape.length}u; d > 0u; d--) {`,
      '      off += (rr % u_rshape(d - 1u)) * u_rstride(d - 1u);', '      rr = rr / u_rshape(d - 1u);', '    }');
  }
  L.push(...reducer.step(`${acc}(x[off])`, 'r').map((l) => `    ${l}`), '  }');
  const outT = wgslType(reducer.outDType);
  if (variant === 'workgroup') {
    L.push(...reducer.toShared.map((l) => `  ${l}`), ...workgroupTree(REDUCE_WG, reducer.merge));
    L.push(`  if (lid == 0u) { out[i] = ${outT}(${reducer.result(true)}); }`);
  } else {
    L.push(`  out[i] = ${outT}(${reducer.result(false)});`);
  }
  const builtins = variant === 'workgroup' ? WORKGROUP_BUILTINS : INVOCATION_BUILTINS;
  const wgsl = [
    enables([spec.dtype]) + storageDecl(0, 'x', spec.dtype, 'read'),
    storageDecl(1, 'out', reducer.outDType, 'read_write'),
    u.declare(2),
    ...(variant === 'workgroup' ? reducer.sharedDecls : []),
    `@compute @workgroup_size(${wg})`,
    `fn main(${builtins}) {`,
    ...L,
    '}',
    '',
  ].join('\n');
  const workgroups = variant === 'workgroup' ? grid1d(n, 1) : grid1d(n, WG);
  return { name: spec.name, wgsl, uniforms: u.words(), workgroups };
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
  workgroups(rows: number): [number, number, number];
  readonly wgSize: number;
}

/** Row-wise building blocks for one invocation per row, or one REDUCE_WG-lane workgroup per row. */
export function rowLanes(variant: ReduceVariant, rowsExpr: string): RowLanes {
  if (variant === 'invocation') {
    return {
      decls: [], builtins: INVOCATION_BUILTINS, wgSize: WG,
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
