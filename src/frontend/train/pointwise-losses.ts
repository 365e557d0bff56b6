import { KilnError } from '../../ir/errors.js';
import { formatShapeType, shapesEqual } from '../../ir/types.js';
import { apply, autocastArgs, where, type Tensor } from '../torch/tensor.js';
import type { Reduction } from './losses.js';

// The losses of torch.nn.functional that compare input and target element by element, as
// compositions of ops with gradient rules. Each computes in float32 under autocast, as PyTorch's.

/** mean, sum or none of a per-element loss, as PyTorch's `reduction`. */
function reduce(perElement: Tensor, reduction: Reduction = 'mean'): Tensor {
  switch (reduction) {
    case 'none': return perElement;
    case 'sum': return perElement.sum();
    case 'mean': return perElement.mean();
  }
}

/** Input and target of one shape, cast as autocast says for `op`. */
function operands(what: string, op: string, input: Tensor, target: Tensor): [Tensor, Tensor] {
  if (!shapesEqual(input.shape, target.shape)) {
    throw new KilnError(`${what}: input ${formatShapeType(input.dtype, input.shape)} and target ${formatShapeType(target.dtype, target.shape)} differ in shape`);
  }
  const [x, y] = autocastArgs(op, [input, target]);
  return [x!, y!];
}

/** Mean squared error between `input` and `target` (same shape), as PyTorch's `F.mse_loss`. */
export function mseLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  const [x, y] = operands('mseLoss', 'mse_loss', input, target);
  const d = x.sub(y);
  return reduce(d.mul(d), opts.reduction);
}

/** |input - target|, as F.l1_loss. */
export function l1Loss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  const [x, y] = operands('l1Loss', 'l1_loss', input, target);
  return reduce(x.sub(y).abs(), opts.reduction);
}

/** 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target), as F.smooth_l1_loss (beta 0: l1). */
export function smoothL1Loss(input: Tensor, target: Tensor, opts: { reduction?: Reduction; beta?: number } = {}): Tensor {
  const beta = opts.beta ?? 1;
  if (!(beta >= 0)) throw new KilnError(`smoothL1Loss: beta must be non-negative, got ${beta}`);
  const [x, y] = operands('smoothL1Loss', 'smooth_l1_loss', input, target);
  const a = x.sub(y).abs();
  return reduce(beta === 0 ? a : where(a.lt(beta), a.mul(a).mul(0.5 / beta), a.sub(0.5 * beta)), opts.reduction);
}

/** 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta), as F.huber_loss. */
export function huberLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction; delta?: number } = {}): Tensor {
  const delta = opts.delta ?? 1;
  if (!(delta > 0)) throw new KilnError(`huberLoss: delta must be positive, got ${delta}`);
  const [x, y] = operands('huberLoss', 'huber_loss', input, target);
  const a = x.sub(y).abs();
  return reduce(where(a.lt(delta), a.mul(a).mul(0.5), a.sub(0.5 * delta).mul(delta)), opts.reduction);
}

export interface BinaryLossOptions {
  /** A weight per element, broadcast against the input. */
  readonly weight?: Tensor;
  readonly reduction?: Reduction;
}

/**
 * -(t log p + (1 - t) log(1 - p)) for probabilities p, each log clamped at -100 (so p = 0 or 1
 * costs 100, not infinity), as F.binary_cross_entropy.
 */
export function binaryCrossEntropy(input: Tensor, target: Tensor, opts: BinaryLossOptions = {}): Tensor {
  const [p, t] = operands('binaryCrossEntropy', 'binary_cross_entropy', input, target);
  const log = (v: Tensor) => v.log().clamp({ min: -100 });
  let loss = t.mul(log(p)).add(t.neg().add(1).mul(log(p.neg().add(1)))).neg();
  if (opts.weight) loss = loss.mul(opts.weight);
  return reduce(loss, opts.reduction);
}

/**
 * Binary cross-entropy of logits x: posWeight t softplus(-x) + (1 - t) softplus(x), which never
 * overflows, as F.binary_cross_entropy_with_logits (`posWeight` broadcast along the last dimension).
 */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, opts: BinaryLossOptions & { posWeight?: Tensor } = {}): Tensor {
  const [x, t] = operands('binaryCrossEntropyWithLogits', 'binary_cross_entropy_with_logits', input, target);
  const positive = apply('softplus', [x.neg()]).mul(opts.posWeight ? t.mul(opts.posWeight) : t);
  let loss = positive.add(apply('softplus', [x]).mul(t.neg().add(1)));
  if (opts.weight) loss = loss.mul(opts.weight);
  return reduce(loss, opts.reduction);
}

/**
 * Kullback-Leibler divergence of `target` from the log-probabilities `input`: t (log t - input),
 * 0 where t is 0 (or exp(t) (t - input) for a log target), as F.kl_div. 'batchmean' divides
 * the sum by the batch size (dimension 0), the mathematically right mean; 'mean' by every element.
 */
export function klDiv(input: Tensor, target: Tensor, opts: { reduction?: Reduction | 'batchmean'; logTarget?: boolean } = {}): Tensor {
  const [x, t] = operands('klDiv', 'kl_div', input, target);
  const loss = opts.logTarget ? t.exp().mul(t.sub(x)) : where(t.gt(0), t.mul(t.log().sub(x)), t.mul(x).neg());
  if (opts.reduction === 'batchmean') return loss.sum().div(input.shape.length ? input.shape[0]! : 1);
  return reduce(loss, opts.reduction);
}
