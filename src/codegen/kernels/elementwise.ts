import type { EmittedKernel } from './kernel.js';
import { stridesOf, type DType } from '../../ir/types.js';
import { enables, flatIndex, grid1d, storageDecl, UniformBlock, wgslType, flatKernel } from '../wgsl.js';

/** One operand of an elementwise kernel. */
export interface ElementwiseOperand {
  readonly dtype: DType;
  /** Element strides of this operand in output coordinates (0 where broadcast). */
  readonly strides: readonly number[];
}

/** An elementwise kernel over an output of `shape`: each element is `body(operand values)`. */
export interface ElementwiseKernelSpec {
  readonly name: string;
  readonly operands: readonly ElementwiseOperand[];
  readonly outDType: DType;
  readonly shape: readonly number[];
  /** WGSL expression of the output element from operand expressions (already of their WGSL types). */
  readonly body: (xs: readonly string[]) => string;
  /** WGSL function declarations `body` calls (e.g. from wgsl-math.ts); each is emitted once. */
  readonly helpers?: readonly string[];
  /** Dtypes `body` computes in besides the operands' and the output's (a fused chain's intermediates). */
  readonly innerDTypes?: readonly DType[];
}

const WG = 256;

/**
 * Emits a flat elementwise kernel. Shapes and strides are uniforms so that the same op at the
 * same rank shares one shader; operands laid out exactly like the output read at the flat index.
 */
export function emitElementwise(spec: ElementwiseKernelSpec): EmittedKernel {
  const rank = spec.shape.length;
  const n = spec.shape.reduce((p, d) => p * d, 1);
  const dense = stridesOf(spec.shape);
  const direct = spec.operands.map((o) => o.strides.every((s, i) => s === dense[i] || spec.shape[i] === 1));
  const u = new UniformBlock().scalar('n', n);
  const strided = spec.operands.map((_, k) => k).filter((k) => !direct[k]);
  if (strided.length) {
    u.array('shape', spec.shape);
    for (const k of strided) u.array(`s${k}`, spec.operands[k]!.strides);
  }
  const decls = spec.operands.map((o, k) => storageDecl(k, `in${k}`, o.dtype, 'read'));
  const outBinding = spec.operands.length;
  decls.push(storageDecl(outBinding, 'out', spec.outDType, 'read_write'));

  const lines: string[] = [];
  lines.push(`  let i = ${flatIndex(WG)};`, '  if (i >= u.n) { return; }');
  if (strided.length) {
    lines.push('  var rem = i;');
    for (const k of strided) lines.push(`  var o${k} = 0u;`);
    lines.push(`  for (var d = ${rank}u; d > 0u; d--) {`, '    let c = rem % u_shape(d - 1u);', '    rem = rem / u_shape(d - 1u);');
    for (const k of strided) lines.push(`    o${k} += c * u_s${k}(d - 1u);`);
    lines.push('  }');
  }
  const xs = spec.operands.map((_, k) => `in${k}[${direct[k] ? 'i' : `o${k}`}]`);
  lines.push(`  out[i] = ${wgslType(spec.outDType)}(${spec.body(xs)});`);

  const wgsl = flatKernel([enables([...spec.operands.map((o) => o.dtype), spec.outDType, ...(spec.innerDTypes ?? [])]) + decls.join('\n'), u.declare(outBinding + 1), ...new Set(spec.helpers ?? [])], WG, lines);
  return { name: spec.name, wgsl, uniforms: u.words(), workgroups: grid1d(n, WG) };
}
