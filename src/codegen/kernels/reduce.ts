import type { DType } from '../../ir/types.js';
import type { ReductionMath } from '../../ir/ops/registry.js';
import type { EmittedKernel } from './kernel.js';
import { enables, flatIndex, grid1d, storageDecl, UniformBlock, wgslType } from '../wgsl.js';

export interface ReduceKernelSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly math: ReductionMath;
  /** Extents and input strides of the kept dimensions (in output order) and the reduced ones. */
  readonly keptShape: readonly number[];
  readonly keptStrides: readonly number[];
  readonly reducedShape: readonly number[];
  readonly reducedStrides: readonly number[];
}

const WG = 64;

/** A WGSL f32 literal for any number, infinities included. */
export function f32Literal(x: number): string {
  if (x === Infinity) return 'bitcast<f32>(0x7f800000u)';
  if (x === -Infinity) return 'bitcast<f32>(0xff800000u)';
  if (Number.isNaN(x)) return 'bitcast<f32>(0x7fc00000u)';
  const s = String(Math.fround(x));
  return /[.e]/.test(s) ? `f32(${s})` : `f32(${s}.0)`;
}

/** One invocation per output element, looping over the reduced elements in f32. */
export function emitReduce(spec: ReduceKernelSpec): EmittedKernel {
  const n = spec.keptShape.reduce((p, d) => p * d, 1);
  const count = spec.reducedShape.reduce((p, d) => p * d, 1);
  // The reduced elements are one contiguous run when they are the innermost dimensions.
  const contiguous = spec.reducedStrides.every((s, i) => s === spec.reducedShape.slice(i + 1).reduce((p, d) => p * d, 1));
  const u = new UniformBlock().scalar('n', n).scalar('count', count);
  if (spec.keptShape.length) u.array('kshape', spec.keptShape).array('kstride', spec.keptStrides);
  if (!contiguous) u.array('rshape', spec.reducedShape).array('rstride', spec.reducedStrides);
  const L: string[] = [`  let i = ${flatIndex(WG)};`, '  if (i >= u.n) { return; }', '  var base = 0u;'];
  if (spec.keptShape.length) {
    L.push('  var rem = i;', `  for (var d = ${spec.keptShape.length}u; d > 0u; d--) {`,
      '    base += (rem % u_kshape(d - 1u)) * u_kstride(d - 1u);', '    rem = rem / u_kshape(d - 1u);', '  }');
  }
  L.push(`  var acc = ${f32Literal(spec.math.init)};`, '  for (var r = 0u; r < u.count; r++) {');
  if (contiguous) L.push('    let off = base + r;');
  else {
    L.push('    var off = base;', '    var rr = r;', `    for (var d = ${spec.reducedShape.length}u; d > 0u; d--) {`,
      '      off += (rr % u_rshape(d - 1u)) * u_rstride(d - 1u);', '      rr = rr / u_rshape(d - 1u);', '    }');
  }
  L.push(`    acc = ${spec.math.wgsl('acc', 'f32(x[off])')};`, '  }');
  const result = spec.math.finish ? spec.math.finish.wgsl('acc', 'f32(u.count)') : 'acc';
  L.push(`  out[i] = ${wgslType(spec.dtype)}(${result});`);
  const wgsl = [
    enables([spec.dtype]) + storageDecl(0, 'x', spec.dtype, 'read'),
    storageDecl(1, 'out', spec.dtype, 'read_write'),
    u.declare(2),
    `@compute @workgroup_size(${WG})`,
    'fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {',
    ...L,
    '}',
    '',
  ].join('\n');
  return { name: spec.name, wgsl, uniforms: u.words(), workgroups: grid1d(n, WG) };
}
