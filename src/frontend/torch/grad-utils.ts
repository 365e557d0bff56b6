import { KilnError } from '../../ir/errors.js';
import { noGrad } from './autograd-tape.js';
import { hostTensorData } from './host-values.js';
import { Tensor } from './tensor.js';

// Gradient utilities shared by modules and optimizers, and `torch.nn.utils.clip_grad_norm_` and `clip_grad_value_`.

/**
 * Clears the gradients of `tensors`: with `setToNone` (the default, as in PyTorch) `.grad`
 * becomes undefined; otherwise each existing gradient is zeroed in place.
 */
export function zeroGrads(tensors: Iterable<Tensor>, opts: { setToNone?: boolean } = {}): void {
  for (const p of tensors) {
    if (opts.setToNone ?? true) p.grad = undefined;
    else if (p.grad) p.grad.setData(p.grad.constantLike(hostTensorData(p.grad.dtype, p.grad.shape, new Array<number>(p.grad.numel()).fill(0))));
  }
}

/**
 * Scales the gradients of `parameters` in place so that their joint norm is at most `maxNorm`,
 * like `torch.nn.utils.clip_grad_norm_`: the norm is that of all gradients concatenated
 * (`normType` 2 by default, any p > 0, or Infinity for the largest magnitude), and each gradient
 * is multiplied by min(1, maxNorm / (norm + 1e-6)). Returns the norm before clipping as a scalar
 * tensor on the gradients' device; nothing waits for the device. Parameters without a gradient
 * are skipped.
 */
export function clipGradNorm_(parameters: Iterable<Tensor>, maxNorm: number, normType = 2): Tensor {
  if (!(normType > 0)) throw new KilnError(`clipGradNorm_: normType must be positive or Infinity, got ${normType}`);
  if (!(maxNorm >= 0)) throw new KilnError(`clipGradNorm_: maxNorm must be non-negative, got ${maxNorm}`);
  const grads = [...parameters].flatMap((p) => (p.grad ? [p.grad] : []));
  if (!grads.length) throw new KilnError('clipGradNorm_: no parameter has a gradient');
  return noGrad(() => {
    let total: Tensor;
    if (normType === Infinity) {
      total = grads.map((g) => g.abs().max()).reduce((a, b) => a.maximum(b));
    } else {
      const sums = grads.map((g) => g.abs().pow(normType).sum()).reduce((a, b) => a.add(b));
      total = sums.pow(1 / normType);
    }
    const coef = total.add(1e-6).pow(-1).mul(maxNorm).clamp(undefined, 1);
    for (const g of grads) g.setData(g.mul(coef.dtype === g.dtype ? coef : coef.type(g.dtype)));
    return total;
  });
}

/** Clamps every gradient of `parameters` into [-clipValue, clipValue] in place, as torch.nn.utils.clip_grad_value_. */
export function clipGradValue_(parameters: Iterable<Tensor>, clipValue: number): void {
  if (!(clipValue >= 0)) throw new KilnError(`clipGradValue_: clipValue must be non-negative, got ${clipValue}`);
  noGrad(() => {
    for (const p of parameters) if (p.grad) p.grad.setData(p.grad.clamp(-clipValue, clipValue));
  });
}
