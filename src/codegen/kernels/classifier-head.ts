import type { Dim } from '../../ir/size-expr.js';
import { KilnError } from '../../ir/errors.js';
import { WORKGROUP_FLOATS } from '../../ir/fusion.js';
import type { DType } from '../../ir/types.js';
import { KernelModule, type Source } from '../kernel-module.js';
import { wgslType } from '../wgsl.js';
import { declareEpilogue, storedValue, type Epilogue } from './epilogue.js';
import type { EmittedKernel } from './kernel.js';
import { channelMeans, WG } from './squeeze-excite.js';
import { nanPropagatingF32 } from './wgsl-math.js';
import { declareWeight, type Int8WeightStorage } from './weight-load.js';

// A classifier's head in one kernel: the global average pool, the fully connected layer (and
// the elementwise work fused after it, its bias), and optionally the softmax over its outputs.
// Each is a nearly empty kernel on its own: on a software adapter, where every dispatch costs
// a hand-off to the shader threads (`kiln profile`'s dispatch floor), PP-OCR cls's head (a max
// pool, the average pool, the layer and the softmax) took four dispatches, 0.26 ms of device
// time, for 0.05 MFLOP; as this kernel 0.08 ms.

/** out[n] = softmax?(epilogue(mean_hw(x[n]) · W)), W a [C, K] weight. */
export interface ClassifierHeadSpec {
  readonly name: string;
  /** The node values bound for x, the weight and the output. */
  readonly sources: { readonly x: Source; readonly w: Source; readonly wInt8?: Int8WeightStorage; readonly out: Source };
  /** Storage dtype of x and of the weight; the means and logits stay f32. */
  readonly dtype: DType;
  /** The fully connected layer's result dtype (after its epilogue), and the output's (the softmax's, when there is one). */
  readonly logitDType: DType;
  readonly outDType: DType;
  readonly batch: Dim;
  /** Channels pooled, classes out, spatial size pooled. */
  readonly channels: number;
  readonly classes: number;
  readonly spatial: Dim;
  /** Whether the weight is stored [K, C] (a gemm's trans_b) rather than [C, K]. */
  readonly weightByClass: boolean;
  /** A gemm's factor of the product, and its bias (a row of K) with the bias's factor: alpha * product + beta * bias[k]. */
  readonly gemm?: { readonly alpha: number; readonly bias?: { readonly source: Source; readonly beta: number } };
  /** The elementwise work after the product (a bias), over flat index n * classes + k. */
  readonly epilogue?: Epilogue;
  readonly softmax: boolean;
  /**
   * A max pool the means are taken over (x is its input): unpadded and undilated, so each of
   * its windows lies inside the plane. Its window and strides are baked in; the extents are uniforms.
   */
  readonly maxPool?: { readonly kernel: readonly [number, number]; readonly stride: readonly [number, number]; readonly inW: Dim; readonly outH: Dim; readonly outW: Dim };
}

/**
 * One workgroup per batch item: the channel means, then the logits (each invocation a stride of
 * the classes), then, with `softmax`, every invocation finds the logits' max and sum of
 * exponentials itself (the classes are few: cheaper than reductions across the workgroup) and
 * stores its stride of the outputs. Softmax as the softmax kernel computes it: exp(l - max) / sum.
 */
export function emitClassifierHead(spec: ClassifierHeadSpec): EmittedKernel {
  const { channels: C, classes: K } = spec;
  // Workgroup memory holds the means and the logits.
  if (C + K > WORKGROUP_FLOATS) throw new KilnError(`${spec.name}: ${C} channels and ${K} classes exceed workgroup memory`);
  const m = new KernelModule();
  const src = spec.sources;
  const means = spec.maxPool ? maxPoolMeans(m, spec.dtype, src.x, C, spec.spatial, spec.maxPool) : channelMeans(m, spec.dtype, src.x, C, spec.spatial);
  const w = declareWeight(m, 'w', spec.dtype, src.w, src.wInt8);
  if (spec.epilogue) declareEpilogue(m, spec.epilogue);
  const value = storedValue(spec.epilogue, spec.logitDType);
  m.write('out', spec.outDType, src.out);
  const body = ['  let n = wg.x;', ...means, '  workgroupBarrier();'];
  const logit = [`    var a = 0.0;`, `    for (var c = 0u; c < ${C}u; c++) { a += mean[c] * ${w.at(spec.weightByClass ? `k * ${C}u + c` : `c * ${K}u + k`)}; }`];
  if (spec.gemm) {
    // As the matmul kernel computes a gemm's epilogue: alpha * product + beta * bias.
    m.uniforms.f32('alpha', spec.gemm.alpha);
    const bias = spec.gemm.bias;
    if (bias) m.uniforms.f32('beta', bias.beta), m.read('bias', spec.dtype, bias.source);
    logit.push(`    a = bitcast<f32>(u.alpha) * a${bias ? ' + bitcast<f32>(u.beta) * f32(bias[k])' : ''};`);
  }
  if (!spec.softmax) {
    body.push(`  for (var k = li; k < ${K}u; k += ${WG}u) {`, ...logit, `    out[n * ${K}u + k] = ${value('a', `n * ${K}u + k`)};`, '  }');
  } else {
    m.declare(`var<workgroup> logits: array<f32, ${K}>;`);
    body.push(
      `  for (var k = li; k < ${K}u; k += ${WG}u) {`, ...logit, `    logits[k] = f32(${value('a', `n * ${K}u + k`)});`, '  }',
      '  workgroupBarrier();',
      '  var rowMax = logits[0];',
      `  for (var k = 1u; k < ${K}u; k++) { rowMax = max(rowMax, logits[k]); }`,
      '  var rowSum = 0.0;',
      `  for (var k = 0u; k < ${K}u; k++) { rowSum += exp(logits[k] - rowMax); }`,
      `  for (var k = li; k < ${K}u; k += ${WG}u) { out[n * ${K}u + k] = ${wgslType(spec.outDType)}(exp(logits[k] - rowMax) / rowSum); }`,
    );
  }
  const builtins = '@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wg: vec3<u32>';
  return m.kernel(spec.name, { workgroupSize: WG, builtins, body }, [spec.batch, 1, 1]);
}

/**
 * Declares x and the workgroup array `mean`, and returns the lines computing each channel's mean
 * over the max pool's outputs (x's planes hold `S` elements): what global_avg_pool(max_pool2d(x))
 * computes, the pool's outputs never stored. NaN propagates through the max as in the pool kernel.
 */
function maxPoolMeans(m: KernelModule, dtype: DType, source: Source, C: number, S: Dim, pool: NonNullable<ClassifierHeadSpec['maxPool']>): string[] {
  m.read('x', dtype, source);
  m.uniforms.scalar('S', S).scalar('W', pool.inW).scalar('OH', pool.outH).scalar('OW', pool.outW);
  m.declare(`var<workgroup> mean: array<f32, ${C}>;`);
  const [[kh, kw], [sh, sw]] = [pool.kernel, pool.stride];
  const taps = Array.from({ length: kh * kw }, (_, t) => `${Math.floor(t / kw)}u * u.W + ${t % kw}u`);
  return [
    `  for (var c = li; c < ${C}u; c += ${WG}u) {`,
    `    let base = (n * ${C}u + c) * u.S;`,
    '    var s = 0.0;',
    '    for (var oh = 0u; oh < u.OH; oh++) {',
    '      for (var ow = 0u; ow < u.OW; ow++) {',
    `        let at = base + oh * ${sh}u * u.W + ow * ${sw}u;`,
    '        var best = f32(x[at]);',
    ...taps.slice(1).flatMap((t, k) => [`        let v${k} = f32(x[at + ${t}]);`, `        best = ${nanPropagatingF32('max', 'best', `v${k}`)};`]),
    '        s += best;',
    '      }',
    '    }',
    '    mean[c] = s / f32(u.OH * u.OW);',
    '  }',
  ];
}
