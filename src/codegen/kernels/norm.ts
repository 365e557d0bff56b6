import type { DType } from '../../ir/types.js';
import { dNumel, type Dim } from '../../ir/size-expr.js';
import { isDense } from './elementwise.js';
import type { EmittedKernel } from './kernel.js';
import { chooseReduceVariant, rowKernel, rowLanes, type ReduceVariant } from './reduce.js';
import { KernelModule, unravel, type Source } from '../kernel-module.js';
import { declareOutput, type Epilogue } from './epilogue.js';

export interface LayerNormKernelSpec {
  readonly name: string;
  /** The result's dtype. */
  readonly dtype: DType;
  /** dtype x is stored in when it differs (a widening cast read directly). */
  readonly xDType?: DType;
  /** The node values bound for x, the weight and bias (when there are), and the output. */
  readonly sources: { readonly x: Source; readonly w?: Source; readonly b?: Source; readonly out: Source };
  /** Rows of `normShape` each; a row is contiguous. */
  readonly rows: Dim;
  readonly normShape: readonly Dim[];
  /** Element strides of the weight and the bias over `normShape` (0 where broadcast); absent when the node has none. */
  readonly weightStrides?: readonly Dim[];
  readonly biasStrides?: readonly Dim[];
  readonly epsilon: number;
  /** dtype of the weight and bias when it differs from x's (an f16 x read directly, f32 parameters). */
  readonly paramDType?: DType;
  /** Forces a variant (tests); otherwise `chooseReduceVariant` picks from the rows and row length. */
  readonly variant?: ReduceVariant;
  /** Elementwise ops fused after it (a cast back to f16, an activation). */
  readonly epilogue?: Epilogue;
}

/**
 * layer_norm over contiguous rows in f32: the mean (of the row shifted by its first element),
 * then the biased variance as the mean of squared deviations (two passes, stabler than
 * E[x^2] - mean^2), then the scaled outputs.
 * epsilon is a uniform so different epsilons share one shader.
 */
export function emitLayerNorm(spec: LayerNormKernelSpec): EmittedKernel {
  const cols = dNumel(spec.normShape);
  const variant = spec.variant ?? chooseReduceVariant(spec.rows, cols);
  const lanes = rowLanes(variant, 'u.rows');
  const m = new KernelModule();
  const u = m.uniforms.scalar('rows', spec.rows).scalar('cols', cols).f32('eps', spec.epsilon);
  const paramDType = spec.paramDType ?? spec.dtype;
  m.read('x', spec.xDType ?? spec.dtype, spec.sources.x);
  // A parameter laid out exactly like a row is read at `j`; any other broadcast walks its strides.
  const params = [
    { name: 'w', strides: spec.weightStrides, source: spec.sources.w, apply: (v: string) => `y = y * f32(${v});` },
    { name: 'b', strides: spec.biasStrides, source: spec.sources.b, apply: (v: string) => `y = y + f32(${v});` },
  ].filter((p) => p.strides !== undefined);
  for (const p of params) m.read(p.name, paramDType, p.source!);
  const store = declareOutput(m, spec.epilogue, spec.dtype, spec.sources.out);
  const strided = params.filter((p) => !isDense(p.strides!, spec.normShape));
  if (strided.length) {
    u.array('nshape', spec.normShape);
    for (const p of strided) u.array(`${p.name}s`, p.strides!);
  }
  const outBody: string[] = ['var y = (f32(x[base + j]) - mean) * inv;'];
  outBody.push(...unravel('j', spec.normShape.length, 'u_nshape', strided.map((p) => ({ name: `${p.name}Off`, strides: `u_${p.name}s` })), ''));
  for (const p of params) outBody.push(p.apply(`${p.name}[${strided.includes(p) ? `${p.name}Off` : 'j'}]`));
  outBody.push(store('base + j', 'y'));

  const L: string[] = [
    ...lanes.rowIndex,
    '  let base = row * u.cols;',
    // Summing x - x[0] instead of x keeps the f32 sum small for rows far from zero mean.
    '  let pivot = f32(x[base]);',
    '  var localSum = 0.0f;',
    ...lanes.loop('u.cols', ['localSum += f32(x[base + j]) - pivot;']),
    ...lanes.allReduce('localSum', 'rowSum', (a, b) => `${a} + ${b}`),
    '  let mean = pivot + rowSum / f32(u.cols);',
    '  var localSq = 0.0f;',
    ...lanes.loop('u.cols', ['let dev = f32(x[base + j]) - mean;', 'localSq += dev * dev;']),
    ...lanes.allReduce('localSq', 'rowSq', (a, b) => `${a} + ${b}`),
    '  let inv = inverseSqrt(rowSq / f32(u.cols) + bitcast<f32>(u.eps));',
    ...lanes.loop('u.cols', outBody),
  ];
  return rowKernel(m, spec.name, lanes, L, spec.rows);
}
