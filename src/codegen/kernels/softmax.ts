import type { DType } from '../../ir/types.js';
import type { AxisRows } from '../../ir/ops/softmax.js';
import type { EmittedKernel } from './kernel.js';
import { chooseReduceVariant, rowKernel, f32Value, rowLanes, type ReduceVariant } from './reduce.js';
import { KernelModule, type Source } from '../kernel-module.js';
import { declareOutput, type Epilogue } from './epilogue.js';

export interface SoftmaxKernelSpec extends AxisRows {
  readonly name: string;
  /** The result's dtype. */
  readonly dtype: DType;
  /** dtype x is stored in when it differs (a widening cast read directly: the kernel computes in f32 anyway). */
  readonly xDType?: DType;
  /** The node values bound for x and the output. */
  readonly sources: { readonly x: Source; readonly out: Source };
  /** log_softmax instead of softmax. */
  readonly log: boolean;
  /** Forces a variant (tests); otherwise `chooseReduceVariant` picks from the rows and row length. */
  readonly variant?: ReduceVariant;
  /** Elementwise ops fused after it (a cast back to f16, a scale). */
  readonly epilogue?: Epilogue;
}

/**
 * Softmax along rows (strided when the axis is not the last): max, then the sum of exp(x - max),
 * then the outputs, all in f32. Three reads of each row rather than an online single pass, to
 * compute exactly what the CPU reference does.
 */
export function emitSoftmax(spec: SoftmaxKernelSpec): EmittedKernel {
  const variant = spec.variant ?? chooseReduceVariant(spec.rows, spec.extent);
  const lanes = rowLanes(variant, 'u.rows');
  const m = new KernelModule();
  const u = m.uniforms.scalar('rows', spec.rows).scalar('extent', spec.extent).scalar('inner', spec.inner);
  m.read('x', spec.xDType ?? spec.dtype, spec.sources.x);
  const store = declareOutput(m, spec.epilogue, spec.dtype, spec.sources.out);
  const L: string[] = [
    ...lanes.rowIndex,
    '  let base = (row / u.inner) * u.extent * u.inner + row % u.inner;',
    `  var localMax = ${f32Value(-Infinity, u, 'negInf')};`,
    ...lanes.loop('u.extent', ['localMax = max(localMax, f32(x[base + j * u.inner]));']),
    ...lanes.allReduce('localMax', 'rowMax', (a, b) => `max(${a}, ${b})`),
    '  var localSum = 0.0f;',
    ...lanes.loop('u.extent', ['localSum += exp(f32(x[base + j * u.inner]) - rowMax);']),
    ...lanes.allReduce('localSum', 'rowSum', (a, b) => `${a} + ${b}`),
  ];
  if (spec.log) {
    L.push('  let logSum = log(rowSum);',
      ...lanes.loop('u.extent', ['let o = base + j * u.inner;', store('o', 'f32(x[o]) - rowMax - logSum')]));
  } else {
    L.push(...lanes.loop('u.extent', ['let o = base + j * u.inner;', store('o', 'exp(f32(x[o]) - rowMax) / rowSum')]));
  }
  return rowKernel(m, spec.name, lanes, L, spec.rows);
}
