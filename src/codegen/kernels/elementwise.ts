import type { EmittedKernel } from './kernel.js';
import { stridesOf, type DType } from '../../ir/types.js';
import { dCeilDiv, dFloorDiv, dimsEqual, dIsMultiple, dNumel, type Dim } from '../../ir/size-expr.js';
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
/** Workgroup size of the kernel that computes four outputs an invocation. */
const WG4 = 64;

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
export function operandIndex(m: KernelModule, how: OperandIndexing, k: number, strides: readonly Dim[], shape: readonly Dim[], prefix: string, index = 'i'): string {
  if (how === 'dense') return index;
  if (how === 'scalar') return '0u';
  if (how === 'strided') return `o${k}`;
  const { d } = movingAxis(strides, shape);
  const a = `${prefix}${k}`;
  m.uniforms.scalar(`${a}i`, dNumel(shape.slice(d + 1))).scalar(`${a}n`, shape[d]!).scalar(`${a}s`, strides[d]!);
  return `((${index} / u.${a}i) % u.${a}n) * u.${a}s`;
}

/** The one axis along which an 'axis' operand moves, and the elements of the output inside one step of it. */
function movingAxis(strides: readonly Dim[], shape: readonly Dim[]): { d: number; inner: Dim } {
  const d = strides.findIndex((s, j) => s !== 0 && shape[j] !== 1);
  return { d, inner: dNumel(shape.slice(d + 1)) };
}

/**
 * How an operand is read by the kernel that computes four adjacent outputs an invocation:
 * laid out like the output, as one vec4 load (`dense`); one value for all four (`scalar`, or
 * `axis` when its axis steps every multiple of 4 outputs, a per-channel scale over planes); or
 * four consecutive values of a last axis of unit stride and a multiple of 4 long, as one vec4
 * (`row`, a bias along the features). Undefined where four adjacent outputs need four separate
 * reads.
 */
type Vec4Read = 'dense' | 'scalar' | 'axis' | 'row';

function vec4Read(how: OperandIndexing, strides: readonly Dim[], shape: readonly Dim[]): Vec4Read | undefined {
  if (how === 'dense' || how === 'scalar') return how;
  if (how === 'strided') return undefined;
  const { d, inner } = movingAxis(strides, shape);
  if (dIsMultiple(inner, 4)) return 'axis';
  return inner === 1 && strides[d] === 1 && dIsMultiple(shape[d]!, 4) ? 'row' : undefined;
}

/**
 * Emits a flat elementwise kernel. Shapes and strides are uniforms so that the same op at the
 * same rank shares one shader; operands laid out exactly like the output read at the flat index.
 */
export function emitElementwise(spec: ElementwiseKernelSpec): EmittedKernel {
  const rank = spec.shape.length;
  const n = dNumel(spec.shape);
  const indexing = spec.operands.map((o) => operandIndexing(o.strides, spec.shape));
  const reads4 = spec.operands.map((o, k) => vec4Read(indexing[k]!, o.strides, spec.shape));
  if (dIsMultiple(n, 4) && reads4.every((r) => r !== undefined)) return emitElementwise4(spec, reads4 as Vec4Read[]);
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

/**
 * The elementwise kernel with four adjacent outputs an invocation, stored as one vec4: for
 * outputs a multiple of 4 long whose operands each take one read for all four (see Vec4Read).
 * On adapters that run invocations as SIMD lanes on a CPU, a vec4 access is one load per lane
 * instead of four gathers, and the index arithmetic is done once for four elements (3.5x faster
 * for a per-channel scale and shift over [1,64,160,160] on lavapipe); GPUs coalesce either.
 */
function emitElementwise4(spec: ElementwiseKernelSpec, reads: readonly Vec4Read[]): EmittedKernel {
  const m = new KernelModule();
  const n4 = dFloorDiv(dNumel(spec.shape), 4);
  m.uniforms.scalar('n4', n4);
  const L = ['  let first = i * 4u;'];
  const lanes = spec.operands.map((o, k) => {
    const how = reads[k]!;
    if (how === 'dense' || how === 'row') {
      const name = m.readVec4(`in${k}`, o.dtype, o.source);
      let at = 'i';
      if (how === 'row') {
        const { d } = movingAxis(o.strides, spec.shape);
        m.uniforms.scalar(`row${k}`, dCeilDiv(spec.shape[d]!, 4));
        at = `i % u.row${k}`;
      }
      L.push(`  let r${k} = ${name}[${at}];`);
      return (lane: number) => `r${k}[${lane}]`;
    }
    const name = m.read(`in${k}`, o.dtype, o.source);
    L.push(`  let r${k} = ${name}[${operandIndex(m, how, k, o.strides, spec.shape, 'ax', 'first')}];`);
    return () => `r${k}`;
  });
  const t = wgslType(spec.outDType);
  m.writeVec4('out', spec.outDType, spec.out);
  m.uses(...(spec.innerDTypes ?? [])).declare(...(spec.helpers ?? []));
  const values = [0, 1, 2, 3].map((lane) => `${t}(${spec.body(lanes.map((read) => read(lane)))})`);
  L.push(`  out[i] = vec4<${t}>(${values.join(', ')});`);
  return m.flat(spec.name, WG4, 'u.n4', n4, L);
}
