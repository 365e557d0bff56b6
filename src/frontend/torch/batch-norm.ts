import { KilnError } from '../../ir/errors.js';
import { hostTensorData } from './host-values.js';
import { apply, type Tensor } from './tensor.js';
import { updateBuffer } from './train-effects.js';

// F.batch_norm: normalises over every dimension but the channels (dimension 1). In training
// it uses the batch's statistics, composed of mean reductions and elementwise ops (so it runs
// on the GPU, fuses and differentiates), and moves the running statistics towards them:
//   running_mean = (1 - momentum) * running_mean + momentum * mean
//   running_var  = (1 - momentum) * running_var  + momentum * var * n / (n - 1)
// with the biased variance for normalising and the unbiased one for running_var, as PyTorch.

/** Options of batchNorm, as PyTorch's F.batch_norm. */
export interface BatchNormOptions {
  readonly weight?: Tensor;
  readonly bias?: Tensor;
  /** Use the batch's statistics (and update the running ones, when given). */
  readonly training?: boolean;
  /**
   * Weight of the batch in the running statistics (default 0.1); a scalar tensor for a factor
   * computed per step (BatchNorm's cumulative average, `momentum: null`).
   */
  readonly momentum?: number | Tensor;
  readonly eps?: number;
}

/**
 * Batch norm over dimension 1; weight and bias default to 1 and 0. Without running statistics
 * (`undefined`, as PyTorch's None) it always normalises with the batch's statistics.
 */
export function batchNorm(x: Tensor, runningMean: Tensor | undefined, runningVar: Tensor | undefined, opts: BatchNormOptions = {}): Tensor {
  const eps = opts.eps ?? 1e-5;
  if (!opts.training && runningMean && runningVar) {
    const weight = opts.weight ?? constantOf(runningVar, 1);
    const bias = opts.bias ?? constantOf(runningMean, 0);
    return apply('batch_norm', [x, weight, bias, runningMean, runningVar], { epsilon: eps });
  }
  if (x.shape.length < 2) throw new KilnError(`batchNorm: expected an input with a channel dimension, got [${x.shape.join(', ')}]`);
  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const n = axes.reduce((k, i) => k * x.shape[i]!, 1);
  if (n <= 1) throw new KilnError(`Expected more than 1 value per channel when training, got input size [${x.shape.join(', ')}]`);
  const mean = x.mean({ dim: axes, keepdim: true });
  const centred = x.sub(mean);
  const variance = centred.mul(centred).mean({ dim: axes, keepdim: true });
  let y = centred.mul(variance.add(eps).rsqrt());
  // [C] affine parameters broadcast as [C, 1, ...] against [N, C, ...].
  const perChannel = [x.shape[1]!, ...x.shape.slice(2).map(() => 1)];
  if (opts.weight) y = y.mul(opts.weight.reshape(...perChannel));
  if (opts.bias) y = y.add(opts.bias.reshape(...perChannel));
  if (opts.training && runningMean && runningVar) {
    const m = opts.momentum ?? 0.1;
    const channels = [x.shape[1]!];
    const batchMean = mean.detach().reshape(...channels);
    const unbiasedVar = variance.detach().reshape(...channels).mul(n / (n - 1));
    updateBuffer(runningMean, x, (cur) => mix(cur, batchMean, m));
    updateBuffer(runningVar, x, (cur) => mix(cur, unbiasedVar, m));
  }
  return y;
}

/** (1 - m) * running + m * batch. */
function mix(running: Tensor, batch: Tensor, m: number | Tensor): Tensor {
  if (typeof m === 'number') return running.mul(1 - m).add(batch.mul(m));
  return running.add(batch.sub(running).mul(m));
}

/** A tensor shaped and placed like `like`, filled with `value` (for absent affine parameters). */
export function constantOf(like: Tensor, value: number): Tensor {
  return like.constantLike(hostTensorData(like.dtype, like.shape, new Array<number>(like.numel()).fill(value)));
}
