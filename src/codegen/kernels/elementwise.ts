import type { EmittedKernel } from './kernel.js';
import { stridesOf, type DType } from '../../ir/types.js';
import { dimsEqual, dNumel, type Dim } from '../../ir/size-expr.js';
import { wgslType } from '../wgsl.js';
import { KernelModule, unravel, type Source } from '../kernel-module.js';

/** One operand of an elementwise kernel. */
export interface ElementwiseOperand {
  readonly dtype: DType;
  /** Element strides of this operand in output coordinates (0 where broadcast). */
  readonly strides: readonly Dim[];
  /** The node value bound for it. */
  readonly source: Source;
}

/** An elementwise kernel over an output of `shape`: each element is `body(operand values)`. */
export interface ElementwiseKernelSpec {
  readonly name: string;
  readonly operands: readonly ElementwiseOperand[];
  readonly outDType: DType;
  readonly shape: readonly Dim[];
  /** The node value the kernel writes. */
  readonly out: Source;
  /** WGSL expression of the output element from operand expressions (already of their WGSL types). */
  readonly body: (xs: readonly string[]) => string;
  /** WGSL function declarations `body` calls (e.g. from wgsl-math.ts); each is emitted once. */
  readonly helpers?: readonly string[];
  /** Dtypes `body` computes in besides the operands' and the output's (a fused chain's intermediates). */
  readonly innerDTypes?: readonly DType[];
}

const WG = 256;

/** Whether strides lay an operand out exactly like a dense tensor of `shape` (extents of 1 aside): it is read at the flat index itself. */
export function isDense(strides: readonly Dim[], shape: readonly Dim[]): boolean {
  const dense = stridesOf(shape);
  return strides.every((s, i) => dimsEqual(s, dense[i]!) || shape[i] === 1);
}

/**
 * How a kernel reads an operand at flat output index `i`: at `i` itself (laid out like the
 * output), at element 0 (one value broadcast everywhere), along one axis (a per-channel scale or
 * bias: two divisions), or at offsets unravelled from `i` with all its strides (two divisions
 * per dimension). Integer division is slow where there is no vector divide (CPU adapters), so
 * the cheapest form that fits is used.
 */
export type OperandIndexing = 'dense' | 'scalar' | 'axis' | 'strided';

export function operandIndexing(strides: readonly Dim[], shape: readonly Dim[]): OperandIndexing {
  if (isDense(strides, shape)) return 'dense';
  const moving = strides.filter((s, d) => s !== 0 && shape[d] !== 1).length;
  return moving === 0 ? 'scalar' : moving === 1 ? 'axis' : 'strided';
}

/**
 * The index expression of operand `k` read as `how` at flat index `i`; an 'axis' read declares
 * its axis's inner size, extent and stride as uniforms `<prefix><k>i`, `n`, `s`. A 'strided'
 * one is at `o<k>`, unravelled by the caller.
 */
export function operandIndex(m: KernelModule, how: OperandIndexing, k: number, strides: readonly Dim[], shape: readonly Dim[], prefix: string): string {
  if (how === 'dense') return 'i';
  if (how === 'scalar') return '0u';
  if (how === 'strided') return `o${k}`;
  const d = strides.findIndex((s, j) => s !== 0 && shape[j] !== 1);
  const a = `${prefix}${k}`;
  m.uniforms.scalar(`${a}i`, dNumel(shape.slice(d + 1))).scalar(`${a}n`, shape[d]!).scalar(`${a}s`, strides[d]!);
  return `((i / u.${a}i) % u.${a}n) * u.${a}s`;
}

/**
 * Emits a flat elementwise kernel. Shapes and strides are uniforms so that the same op at the
 * same rank shares one shader; operands laid out exactly like the output read at the flat index.
 */
export function emitElementwise(spec: ElementwiseKernelSpec): EmittedKernel {
  const rank = spec.shape.length;
  const n = dNumel(spec.shape);
  const indexing = spec.operands.map((o) => operandIndexing(o.strides, spec.shape));
  const m = new KernelModule();
  const u = m.uniforms.scalar('n', n);
  const strided = spec.operands.map((_, k) => k).filter((k) => indexing[k] === 'strided');
  if (strided.length) {
    u.array('shape', spec.shape);
    for (const k of strided) u.array(`s${k}`, spec.operands[k]!.strides);
  }
  const xs = spec.operands.map((o, k) => `${m.read(`in${k}`, o.dtype, o.source)}[${operandIndex(m, indexing[k]!, k, o.strides, spec.shape, 'ax')}]`);
  m.write('out', spec.outDType, spec.out);
  m.uses(...(spec.innerDTypes ?? [])).declare(...(spec.helpers ?? []));
  const body = [
    ...unravel('i', rank, 'u_shape', strided.map((k) => ({ name: `o${k}`, strides: `u_s${k}` }))),
    `  out[i] = ${wgslType(spec.outDType)}(${spec.body(xs)});`,
  ];
  return m.flat(spec.name, WG, 'u.n', n, body);
}
