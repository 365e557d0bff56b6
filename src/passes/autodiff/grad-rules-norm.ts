import type { Value } from '../../ir/graph.js';
import type { OpTable } from '../../ir/ops/index.js';
import { layerNormStart } from '../../ir/ops/norm.js';
import type { GradRule } from './grad-context.js';

// Gradient rules of the normalisations, composed of elementwise ops and reductions (they fuse
// and run on the device). The statistics are recomputed from the operand, as the forward op
// does not return them.

/**
 * layer_norm over axes [start, rank): with xhat = (x - mean) * rstd and g = dy * weight,
 * dx = rstd * (g - mean(g) - xhat * mean(g * xhat)); dweight and dbias sum dy * xhat and dy
 * over the dimensions they were broadcast along.
 */
const layerNorm: GradRule = (c) => {
  const [x, weight, bias] = c.inputs as [Value, Value | undefined, Value | undefined];
  const rank = x.type.shape.length;
  const start = layerNormStart(rank, c.attr<number>('axis'));
  const axes = Array.from({ length: rank - start }, (_, i) => start + i);
  const mean = (v: Value) => c.emit('mean', [v], { axes, keepdims: true });
  const centred = c.emit('sub', [x, mean(x)]);
  const variance = mean(c.emit('mul', [centred, centred]));
  const rstd = c.emit('rsqrt', [c.emit('add', [variance, c.scalar(c.attr<number>('epsilon'), x)])]);
  const xhat = c.emit('mul', [centred, rstd]);
  const g = weight ? c.emit('mul', [c.dy, weight]) : c.dy;
  const inner = c.emit('sub', [c.emit('sub', [g, mean(g)]), c.emit('mul', [xhat, mean(c.emit('mul', [g, xhat]))])]);
  const dx = c.emit('mul', [rstd, inner]);
  const dw = weight ? c.unbroadcast(c.emit('mul', [c.dy, xhat]), weight.type.shape) : undefined;
  const db = bias ? c.unbroadcast(c.dy, bias.type.shape) : undefined;
  return [dx, dw, db];
};

/**
 * batch_norm (inference form, over the given mean and var; kiln's op has no training form: a
 * training step computes the batch statistics with mean ops, which differentiate themselves).
 * y = (x - mean) * inv * scale + bias with inv = 1/sqrt(var + eps), per channel (dimension 1).
 */
const batchNorm: GradRule = (c) => {
  const [x, scale, , mean, variance] = c.inputs as [Value, Value, Value, Value, Value];
  const shape = x.type.shape;
  const perChannel = (v: Value) => c.emit('reshape', [v], { shape: shape.map((d, i) => (i === 1 ? d : 1)).slice(1) });
  const overChannels = (v: Value) => c.emit('sum', [v], { axes: shape.map((_, i) => i).filter((i) => i !== 1), keepdims: false });
  const inv = c.emit('rsqrt', [c.emit('add', [variance, c.scalar(c.attr<number>('epsilon'), x)])]);
  const centred = c.emit('sub', [x, perChannel(mean)]);
  const dx = c.emit('mul', [c.dy, perChannel(c.emit('mul', [scale, inv]))]);
  const dyCentred = overChannels(c.emit('mul', [c.dy, centred]));
  const dScale = c.emit('mul', [dyCentred, inv]);
  const dBias = overChannels(c.dy);
  const dMean = c.emit('neg', [c.emit('mul', [dBias, c.emit('mul', [scale, inv])])]);
  // d/dvar (var + eps)^(-1/2) = -inv^3 / 2
  const inv3 = c.emit('mul', [inv, c.emit('mul', [inv, inv])]);
  const dVar = c.emit('mul', [c.emit('mul', [dyCentred, scale]), c.emit('mul', [inv3, c.scalar(-0.5, x)])]);
  return [dx, dScale, dBias, dMean, dVar];
};

export const normGradRules: OpTable<GradRule> = {
  layer_norm: layerNorm,
  batch_norm: batchNorm,
};
