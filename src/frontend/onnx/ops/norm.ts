// BatchNormalization, InstanceNormalization, LayerNormalization, RMSNormalization,
// GroupNormalization, MeanVarianceNormalization (inference forms; BatchNormalization's training
// mode too).
import { typeOf, type Operand } from '../builder.js';
import type { DType } from '../../../ir/types.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { castTo, normalizeAxis, reshapeTo, scalarLike } from './helpers.js';

defineOnnxOp('BatchNormalization', (n) => {
  if (n.opset < 9 && n.attrs.int('spatial', 1) === 0) n.unsupported('spatial=0 (per-activation statistics) is not supported');
  const training = n.opset >= 14 && n.attrs.int('training_mode', 0) !== 0;
  if (!training) {
    for (let i = 1; i < n.outputCount; i++) {
      if (n.outputUsed(i)) n.unsupported(`its training output ${i} (running statistics) is not supported without training_mode=1`);
    }
  }
  const x = n.input(0);
  const dtype = typeOf(x).dtype;
  const epsilon = n.attrs.float('epsilon', 1e-5);
  // From opset 15 the statistics may have another float type than X.
  const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => castTo(n.b, n.input(i), dtype));
  if (!training) return [n.b.op('batch_norm', [x, scale!, bias!, mean!, variance!], { epsilon })];
  return batchNormTraining(n, x, [scale!, bias!, mean!, variance!], epsilon);
});

/**
 * BatchNormalization with training_mode=1 (opset 14+): Y normalises X by the batch's own
 * per-channel mean and (biased) variance over every axis but 1; the running statistics blend
 * the given ones with the batch's: running = input * momentum + batch * (1 - momentum).
 */
function batchNormTraining(n: OnnxNode, x: Operand, [scale, bias, inputMean, inputVar]: Operand[], epsilon: number): Operand[] {
  const rank = typeOf(x).shape.length;
  if (rank < 2) n.fail(`needs an input [N, C, ...], got rank ${rank}`);
  const axes = Array.from({ length: rank }, (_, i) => i).filter((i) => i !== 1);
  const mean = n.b.op('mean', [x], { axes, keepdims: false });
  const dev = n.b.op('sub', [x, reshapeTo(n.b, mean, [typeOf(x).shape[1]!, ...new Array<number>(rank - 2).fill(1)])]);
  const variance = n.b.op('mean', [n.b.op('mul', [dev, dev])], { axes, keepdims: false });
  const y = n.b.op('batch_norm', [x, scale!, bias!, mean, variance], { epsilon });
  const momentum = n.attrs.float('momentum', 0.9);
  const blend = (given: Operand, batch: Operand) => n.b.op('add', [
    n.b.op('mul', [given, scalarLike(n.b, given, momentum)]),
    n.b.op('mul', [batch, scalarLike(n.b, batch, 1 - momentum)]),
  ]);
  const statsType = typeOf(n.input(3)).dtype;
  return [y, castTo(n.b, blend(inputMean!, mean), statsType), castTo(n.b, blend(inputVar!, variance), statsType)];
}

// Normalises each (sample, channel) over its spatial dims: layer_norm from axis 2, then the
// per-channel scale and bias.
defineOnnxOp('InstanceNormalization', (n) => {
  const x = n.input(0);
  const shape = typeOf(x).shape;
  if (shape.length < 3) n.fail(`needs an input [N, C, spatial...], got rank ${shape.length}`);
  const perChannel = [shape[1]!, ...new Array<number>(shape.length - 2).fill(1)];
  const normed = n.b.op('layer_norm', [x], { axis: 2, epsilon: n.attrs.float('epsilon', 1e-5) });
  const scaled = n.b.op('mul', [normed, reshapeTo(n.b, n.input(1), perChannel)]);
  return n.b.op('add', [scaled, reshapeTo(n.b, n.input(2), perChannel)]);
});

// Y is kiln's fused layer_norm; the Mean and InvStdDev outputs (training statistics, in the
// stash type) are computed beside it from reductions only when something reads them.
defineOnnxOp('LayerNormalization', (n) => {
  const x = n.input(0);
  const dtype = typeOf(x).dtype;
  const axis = n.attrs.int('axis', -1);
  const epsilon = n.attrs.float('epsilon', 1e-5);
  const bias = n.optional(2);
  const params = [castTo(n.b, n.input(1), dtype), ...(bias ? [castTo(n.b, bias, dtype)] : [])];
  const y = n.b.op('layer_norm', [x, ...params], { axis, epsilon });
  if (!n.outputUsed(1) && !n.outputUsed(2)) return [y];
  const xs = castTo(n.b, x, stashDType(n));
  const axes = trailingAxes(n, axis, typeOf(x).shape.length);
  const mean = n.b.op('mean', [xs], { axes, keepdims: true });
  const dev = n.b.op('sub', [xs, mean]);
  const variance = n.b.op('mean', [n.b.op('mul', [dev, dev])], { axes, keepdims: true });
  const std = n.b.op('sqrt', [n.b.op('add', [variance, scalarLike(n.b, variance, epsilon)])]);
  return [y, mean, n.b.op('div', [scalarLike(n.b, std, 1), std])];
});

// Y = X / sqrt(mean(X^2 over [axis, rank)) + epsilon) * scale, the statistics in the stash
// type; the result takes the scale's type (ONNX lets it differ from X's).
defineOnnxOp('RMSNormalization', (n) => {
  const x = n.input(0);
  const scale = n.input(1);
  const normed = rmsNormalized(n, castTo(n.b, x, stashDType(n)), n.attrs.int('axis', -1), n.attrs.float('epsilon', 1e-5));
  return n.b.op('mul', [castTo(n.b, normed, typeOf(scale).dtype), scale]);
});

/** x / sqrt(mean(x^2 over [axis, rank)) + epsilon): RMS normalisation before its scale. */
export function rmsNormalized(n: OnnxNode, x: Operand, axis: number, epsilon: number): Operand {
  const axes = trailingAxes(n, axis, typeOf(x).shape.length);
  const meanSquare = n.b.op('mean', [n.b.op('mul', [x, x])], { axes, keepdims: true });
  const rms = n.b.op('sqrt', [n.b.op('add', [meanSquare, scalarLike(n.b, meanSquare, epsilon)])]);
  return n.b.op('div', [x, rms]);
}

// Normalises each group of num_groups consecutive channels over the group's channels and
// spatial positions (a layer_norm of [N, G, rest]), then scales and shifts per channel (per
// group before opset 21, whose scale and bias had one value per group).
defineOnnxOp('GroupNormalization', (n) => {
  const x = n.input(0);
  const shape = typeOf(x).shape;
  if (shape.length < 3) n.fail(`needs an input [N, C, spatial...], got rank ${shape.length}`);
  const [batch, channels] = [shape[0]!, shape[1]!];
  const groups = n.attrs.int('num_groups', 0);
  if (groups <= 0 || channels % groups !== 0) n.fail(`num_groups ${groups} must divide the ${channels} channels`);
  const dtype = typeOf(x).dtype;
  stashDType(n);
  const grouped = reshapeTo(n.b, x, [batch, groups, -1]);
  const normed = n.b.op('layer_norm', [grouped], { axis: 2, epsilon: n.attrs.float('epsilon', 1e-5) });
  const [scale, bias] = [castTo(n.b, n.input(1), dtype), castTo(n.b, n.input(2), dtype)];
  if (n.opset < 21) {
    const y = n.b.op('add', [n.b.op('mul', [normed, reshapeTo(n.b, scale, [groups, 1])]), reshapeTo(n.b, bias, [groups, 1])]);
    return reshapeTo(n.b, y, shape);
  }
  const perChannel = [channels, ...new Array<number>(shape.length - 2).fill(1)];
  const scaled = n.b.op('mul', [reshapeTo(n.b, normed, shape), reshapeTo(n.b, scale, perChannel)]);
  return n.b.op('add', [scaled, reshapeTo(n.b, bias, perChannel)]);
});

// Y = (X - mean) / (std + 1e-9), the statistics over `axes` (default: all but channels).
defineOnnxOp('MeanVarianceNormalization', (n) => {
  const x = n.input(0);
  const axes = n.attrs.ints('axes', [0, 2, 3]);
  const mean = n.b.op('mean', [x], { axes, keepdims: true });
  const meanOfSquare = n.b.op('mean', [n.b.op('mul', [x, x])], { axes, keepdims: true });
  const variance = n.b.op('sub', [meanOfSquare, n.b.op('mul', [mean, mean])]);
  const std = n.b.op('add', [n.b.op('sqrt', [variance]), scalarLike(n.b, x, 1e-9)]);
  return n.b.op('div', [n.b.op('sub', [x, mean]), std]);
});

/** The dtype of a node's statistics (its stash_type; kiln computes double in f32). */
function stashDType(n: OnnxNode): DType {
  const stash = n.attrs.int('stash_type', 1);
  const dtype = STASH_TYPES[stash];
  if (!dtype) n.unsupported(`stash_type ${stash} is not supported (float, float16 and double are)`);
  return dtype;
}

const STASH_TYPES: Readonly<Record<number, DType>> = { 1: 'f32', 10: 'f16', 11: 'f32' };

/** The axes [axis, rank) that a normalisation from `axis` reduces over. */
function trailingAxes(n: OnnxNode, axis: number, rank: number): number[] {
  const start = normalizeAxis(n, axis, rank);
  return Array.from({ length: rank - start }, (_, i) => start + i);
}
