import { KilnError } from '../../ir/errors.js';
import { formatShapeType, isFloat, shapesEqual } from '../../ir/types.js';
import { hostTensorData } from '../torch/host-values.js';
import type { Tensor } from '../torch/tensor.js';

// Losses as compositions of ops that have gradient rules, so they work eagerly (with autograd),
// inside trace, and inside a compiled training step alike.

/** How a loss reduces over the batch, as PyTorch's `reduction`. */
export type Reduction = 'mean' | 'sum' | 'none';

/**
 * Cross-entropy of `logits` [N, C] (unnormalised scores) against class indices `targets` [N]
 * (int32): -log_softmax(logits)[n, targets[n]], averaged over the batch by default, as PyTorch's
 * `F.cross_entropy`. A target outside [0, C) contributes 0 (no class matches it).
 */
export function crossEntropy(logits: Tensor, targets: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  if (logits.shape.length !== 2 || !isFloat(logits.dtype)) {
    throw new KilnError(`crossEntropy expects float logits [N, C], got ${formatShapeType(logits.dtype, logits.shape)}`);
  }
  const [n, c] = logits.shape as [number, number];
  if ((targets.dtype !== 'i32' && targets.dtype !== 'u32') || !shapesEqual(targets.shape, [n])) {
    throw new KilnError(`crossEntropy expects int32 class indices [${n}] for logits [${n}, ${c}], got ${formatShapeType(targets.dtype, targets.shape)}`);
  }
  const classes = targets.constantLike(hostTensorData(targets.dtype, [1, c], Array.from({ length: c }, (_, i) => i)));
  const oneHot = targets.unsqueeze(1).eq(classes).type(logits.dtype);
  const picked = logits.logSoftmax(1).mul(oneHot);
  switch (opts.reduction ?? 'mean') {
    case 'none': return picked.sum({ dim: 1 }).neg();
    case 'sum': return picked.sum().neg();
    case 'mean': return picked.sum().mul(-1 / n);
  }
}

/** Mean squared error between `input` and `target` (same shape), as PyTorch's `F.mse_loss`. */
export function mseLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor {
  if (!shapesEqual(input.shape, target.shape)) {
    throw new KilnError(`mseLoss: input ${formatShapeType(input.dtype, input.shape)} and target ${formatShapeType(target.dtype, target.shape)} differ in shape`);
  }
  const d = input.sub(target);
  const sq = d.mul(d);
  switch (opts.reduction ?? 'mean') {
    case 'none': return sq;
    case 'sum': return sq.sum();
    case 'mean': return sq.mean();
  }
}
