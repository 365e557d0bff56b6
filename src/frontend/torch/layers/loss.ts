import * as F from '../functional.js';
import { Module } from '../module.js';
import type { Tensor } from '../tensor.js';

// The loss functions as modules, as torch.nn's: `const criterion = new nn.CrossEntropyLoss();
// const loss = criterion.call(logits, targets);`.

/** Cross-entropy of logits [N, C, ...] against class indices, as torch.nn.CrossEntropyLoss (see functional.crossEntropy). */
export class CrossEntropyLoss extends Module {
  constructor(readonly opts: F.ClassLossOptions = {}) { super(); }
  forward(input: Tensor, target: Tensor): Tensor { return F.crossEntropy(input, target, this.opts); }
}

/** Negative log-likelihood of log-probabilities [N, C, ...] against class indices, as torch.nn.NLLLoss. */
export class NLLLoss extends Module {
  constructor(readonly opts: F.ClassLossOptions = {}) { super(); }
  forward(input: Tensor, target: Tensor): Tensor { return F.nllLoss(input, target, this.opts); }
}

/** Mean (or summed) squared error, as torch.nn.MSELoss. */
export class MSELoss extends Module {
  constructor(readonly opts: { readonly reduction?: F.Reduction } = {}) { super(); }
  forward(input: Tensor, target: Tensor): Tensor { return F.mseLoss(input, target, this.opts); }
}

/** Mean (or summed) absolute error, as torch.nn.L1Loss. */
export class L1Loss extends Module {
  constructor(readonly opts: { readonly reduction?: F.Reduction } = {}) { super(); }
  forward(input: Tensor, target: Tensor): Tensor { return F.l1Loss(input, target, this.opts); }
}

/** Squared error below beta, absolute above, as torch.nn.SmoothL1Loss. */
export class SmoothL1Loss extends Module {
  constructor(readonly opts: { readonly reduction?: F.Reduction; readonly beta?: number } = {}) { super(); }
  forward(input: Tensor, target: Tensor): Tensor { return F.smoothL1Loss(input, target, this.opts); }
}

/** Squared error below delta, delta-scaled absolute above, as torch.nn.HuberLoss. */
export class HuberLoss extends Module {
  constructor(readonly opts: { readonly reduction?: F.Reduction; readonly delta?: number } = {}) { super(); }
  forward(input: Tensor, target: Tensor): Tensor { return F.huberLoss(input, target, this.opts); }
}

/** Binary cross-entropy of probabilities, as torch.nn.BCELoss. */
export class BCELoss extends Module {
  constructor(readonly opts: F.BinaryLossOptions = {}) { super(); }
  forward(input: Tensor, target: Tensor): Tensor { return F.binaryCrossEntropy(input, target, this.opts); }
}

/** Binary cross-entropy of logits (a sigmoid folded in, stably), as torch.nn.BCEWithLogitsLoss. */
export class BCEWithLogitsLoss extends Module {
  constructor(readonly opts: F.BinaryLossOptions & { readonly posWeight?: Tensor } = {}) { super(); }
  forward(input: Tensor, target: Tensor): Tensor { return F.binaryCrossEntropyWithLogits(input, target, this.opts); }
}

/** Kullback-Leibler divergence of the target from log-probabilities, as torch.nn.KLDivLoss. */
export class KLDivLoss extends Module {
  constructor(readonly opts: { readonly reduction?: F.Reduction | 'batchmean'; readonly logTarget?: boolean } = {}) { super(); }
  forward(input: Tensor, target: Tensor): Tensor { return F.klDiv(input, target, this.opts); }
}
