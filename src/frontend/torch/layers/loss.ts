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
