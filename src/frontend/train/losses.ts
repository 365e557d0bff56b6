import { KilnError } from '../../ir/errors.js';
import { formatShapeType, isFloat, shapesEqual } from '../../ir/types.js';
import { hostTensorData } from '../torch/host-values.js';
import { autocastArgs, where, type Tensor } from '../torch/tensor.js';

// Losses as compositions of ops that have gradient rules, so they work eagerly (with autograd),
// inside trace, and inside a compiled training step alike.

/** How a loss reduces over the batch, as PyTorch's `reduction`. */
export type Reduction = 'mean' | 'sum' | 'none';

/** Options of nllLoss and crossEntropy, as PyTorch's. */
export interface ClassLossOptions {
  /** A weight per class [C]: each element's loss is scaled by its target's weight. */
  readonly weight?: Tensor;
  /** Targets equal to this count for nothing, in the loss nor in the mean's divisor (default -100, as PyTorch's). */
  readonly ignoreIndex?: number;
  readonly reduction?: Reduction;
}

/**
 * Negative log-likelihood of log-probabilities `input` [N, C, d1, ..., dk] (k >= 0) at class
 * indices `target` [N, d1, ..., dk] (int32): -weight[t] * input[n, t, ...] per element, as
 * PyTorch's `F.nll_loss`. 'mean' divides the sum by the total weight of the targets not
 * ignored (NaN when every target is ignored, as in PyTorch). A target outside [0, C) that is
 * not `ignoreIndex` (an error in PyTorch) selects no class: it counts for nothing, as an ignored one.
 */
export function nllLoss(input: Tensor, target: Tensor, opts: ClassLossOptions = {}): Tensor {
  const [logProb] = autocastArgs('nll_loss', [input]);
  return classLoss('nllLoss', logProb!, target, opts);
}

/**
 * Cross-entropy of `logits` [N, C, d1, ..., dk] (unnormalised scores over dimension 1) against
 * class indices `targets` [N, d1, ..., dk] (int32): nllLoss of their log-softmax, averaged
 * over the elements by default, as PyTorch's `F.cross_entropy` with class-index targets.
 */
export function crossEntropy(logits: Tensor, targets: Tensor, opts: ClassLossOptions = {}): Tensor {
  const [scores] = autocastArgs('cross_entropy', [logits]);
  checkClassLoss('crossEntropy', scores!, targets, opts.weight);
  return classLoss('crossEntropy', scores!.logSoftmax(1), targets, opts);
}

function checkClassLoss(what: string, input: Tensor, target: Tensor, weight: Tensor | undefined): void {
  if (input.shape.length < 2 || !isFloat(input.dtype)) {
    throw new KilnError(`${what} expects float ${what === 'nllLoss' ? 'log-probabilities' : 'logits'} [N, C, d1, ...], got ${formatShapeType(input.dtype, input.shape)}`);
  }
  const want = [input.shape[0]!, ...input.shape.slice(2)];
  if ((target.dtype !== 'i32' && target.dtype !== 'u32') || !shapesEqual(target.shape, want)) {
    throw new KilnError(`${what} expects int32 class indices [${want.join(', ')}] for input [${input.shape.join(', ')}], got ${formatShapeType(target.dtype, target.shape)}`);
  }
  if (weight && (weight.dtype !== input.dtype || !shapesEqual(weight.shape, [input.shape[1]!]))) {
    throw new KilnError(`${what} expects a weight ${formatShapeType(input.dtype, [input.shape[1]!])} (one per class), got ${formatShapeType(weight.dtype, weight.shape)}`);
  }
}

function classLoss(what: string, logProb: Tensor, target: Tensor, opts: ClassLossOptions): Tensor {
  checkClassLoss(what, logProb, target, opts.weight);
  const c = logProb.shape[1]!;
  // Classes along dimension 1, broadcast against the target with a class dimension inserted.
  const classShape = [1, c, ...logProb.shape.slice(2).map(() => 1)];
  const classes = target.constantLike(hostTensorData(target.dtype, classShape, Array.from({ length: c }, (_, i) => i)));
  // An ignored target becomes C, which selects no class (even when ignoreIndex is a class).
  const kept = where(target.ne(opts.ignoreIndex ?? -100), target, c);
  const selected = kept.unsqueeze(1).eq(classes);
  // Picked with `where`, not multiplied by a one-hot mask, so a -inf elsewhere in a row stays out.
  let picked = where(selected, logProb, 0);
  const weightRow = opts.weight?.reshape(classShape);
  if (weightRow) picked = picked.mul(weightRow);
  const perElement = picked.sum({ dim: 1 }).neg();
  switch (opts.reduction ?? 'mean') {
    case 'none': return perElement;
    case 'sum': return perElement.sum();
    case 'mean': {
      const total = weightRow ? where(selected, weightRow, 0).sum() : selected.type(logProb.dtype).sum();
      return perElement.sum().div(total);
    }
  }
}
