import type { DType } from '../../ir/types.js';
import type { AxisRows } from '../../ir/ops/softmax.js';
import type { EmittedKernel } from './kernel.js';
import { chooseReduceVariant, rowKernel, f32Value, rowLanes, type ReduceVariant } from './reduce.js';
import { enables, storageDecl, UniformBlock } from '../wgsl.js';
import { addEpilogueUniforms, epilogueAndOutput, storeThrough, type Epilogue, epilogueDTypes } from './epilogue.js';

export interface SoftmaxKernelSpec extends AxisRows {
  readonly name: string;
  readonly dtype: DType;
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
  const u = new UniformBlock().scalar('rows', spec.rows).scalar('extent', spec.extent).scalar('inner', spec.inner);
  const epi = spec.epilogue;
  if (epi) addEpilogueUniforms(u, epi);
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
      ...lanes.loop('u.extent', ['let o = base + j * u.inner;', storeThrough(epi, 'o', 'f32(x[o]) - rowMax - logSum', spec.dtype)]));
  } else {
    L.push(...lanes.loop('u.extent', ['let o = base + j * u.inner;', storeThrough(epi, 'o', 'exp(f32(x[o]) - rowMax) / rowSum', spec.dtype)]));
  }
  const out = epilogueAndOutput(epi, 1, spec.dtype);
  const wgsl = rowKernel([enables([spec.dtype, ...epilogueDTypes(epi)]) + storageDecl(0, 'x', spec.dtype, 'read'), ...out.decls, u.declare(out.next)], lanes, L);
  return { name: spec.name, wgsl, uniforms: u.words(), workgroups: lanes.workgroups(spec.rows) };
}
