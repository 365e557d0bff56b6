import { KilnError } from '../../../ir/errors.js';
import { constantOf } from '../batch-norm.js';
import * as F from '../functional.js';
import { Module } from '../module.js';
import { reprNumber, reprValue } from '../module-repr.js';
import { ones, zeros, type Tensor } from '../tensor.js';
import { updateBuffer } from '../train-effects.js';

export interface BatchNorm2dOptions {
  readonly eps?: number;
  /** Weight of each batch in the running statistics (default 0.1); null: their cumulative average. */
  readonly momentum?: number | null;
  readonly affine?: boolean;
  /** Keep running statistics for eval mode (default); without them every mode uses the batch's. */
  readonly trackRunningStats?: boolean;
}

/**
 * Batch norm over dimension 1, as PyTorch's: training mode normalises with the batch's
 * statistics and updates the running ones (and counts the batch in `num_batches_tracked`), eval
 * mode uses the running statistics. The ranks it takes are its subclass's.
 */
abstract class BatchNorm extends Module {
  readonly weight: Tensor | undefined;
  readonly bias: Tensor | undefined;
  readonly runningMean: Tensor | undefined;
  readonly runningVar: Tensor | undefined;
  readonly numBatchesTracked: Tensor | undefined;
  readonly eps: number;
  readonly momentum: number | null;
  protected abstract readonly ranks: readonly number[];

  constructor(readonly numFeatures: number, opts: BatchNorm2dOptions = {}) {
    super();
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    if (this.momentum !== null && !(this.momentum >= 0 && this.momentum <= 1)) throw new KilnError(`${this.constructor.name}: momentum must be in [0, 1] or null, got ${this.momentum}`);
    const affine = opts.affine ?? true;
    this.weight = affine ? this.registerParameter('weight', ones([numFeatures])) : undefined;
    this.bias = affine ? this.registerParameter('bias', zeros([numFeatures])) : undefined;
    const track = opts.trackRunningStats ?? true;
    this.runningMean = track ? this.registerBuffer('running_mean', zeros([numFeatures])) : undefined;
    this.runningVar = track ? this.registerBuffer('running_var', ones([numFeatures])) : undefined;
    this.numBatchesTracked = track ? this.registerBuffer('num_batches_tracked', zeros([], { dtype: 'i32' })) : undefined;
  }

  override extraRepr(): string {
    const track = this.runningMean !== undefined;
    return `${this.numFeatures}, eps=${reprNumber(this.eps)}, momentum=${this.momentum === null ? 'None' : reprNumber(this.momentum)}, affine=${reprValue(this.weight !== undefined)}, track_running_stats=${reprValue(track)}`;
  }

  forward(x: Tensor): Tensor {
    const name = this.constructor.name;
    if (!this.ranks.includes(x.shape.length)) throw new KilnError(`${name}: expected ${this.ranks.map((r) => `${r}D`).join(' or ')} input (got ${x.shape.length}D input)`);
    if (x.shape[1] !== this.numFeatures) throw new KilnError(`${name}(${this.numFeatures}) got ${x.shape[1]} channels in input [${x.shape.join(',')}]`);
    let momentum: number | Tensor = this.momentum ?? 0;
    if (this.training && this.numBatchesTracked) {
      let count: Tensor | undefined;
      updateBuffer(this.numBatchesTracked, x, (n) => (count = n.add(1)));
      // The cumulative average weighs the k-th batch by 1 / k.
      if (this.momentum === null) {
        const k = count!.float();
        momentum = constantOf(k, 1).div(k);
      }
    }
    return F.batchNorm(x, this.runningMean, this.runningVar, {
      ...(this.weight ? { weight: this.weight } : {}),
      ...(this.bias ? { bias: this.bias } : {}),
      training: this.training || !this.runningMean,
      momentum,
      eps: this.eps,
    });
  }
}

/**
 * Batch norm over the channels of [N, C, H, W], as torch.nn.BatchNorm2d. Its state keys are
 * PyTorch's (`running_mean`, `running_var`, `num_batches_tracked`), so PyTorch checkpoints load.
 */
export class BatchNorm2d extends BatchNorm {
  protected readonly ranks = [4];
}

/** Batch norm over the features of [N, C] or [N, C, L], as torch.nn.BatchNorm1d. */
export class BatchNorm1d extends BatchNorm {
  protected readonly ranks = [2, 3];
}

export interface LayerNormOptions {
  readonly eps?: number;
  readonly elementwiseAffine?: boolean;
  /** With elementwiseAffine, whether to learn a bias too (PyTorch 2.1+). */
  readonly bias?: boolean;
}

/** Normalises over the trailing `normalizedShape` dimensions, as torch.nn.LayerNorm. */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly weight: Tensor | undefined;
  readonly bias: Tensor | undefined;
  readonly eps: number;

  constructor(normalizedShape: number | readonly number[], opts: LayerNormOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    this.eps = opts.eps ?? 1e-5;
    const affine = opts.elementwiseAffine ?? true;
    this.weight = affine ? this.registerParameter('weight', ones(this.normalizedShape)) : undefined;
    this.bias = affine && opts.bias !== false ? this.registerParameter('bias', zeros(this.normalizedShape)) : undefined;
  }

  forward(x: Tensor): Tensor {
    return F.layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `${reprValue(this.normalizedShape)}, eps=${reprNumber(this.eps)}, elementwise_affine=${reprValue(this.weight !== undefined)}`;
  }
}

/** Group norm over [N, C, ...] with a learnable scale and shift per channel (affine, default), as torch.nn.GroupNorm. */
export class GroupNorm extends Module {
  readonly weight: Tensor | undefined;
  readonly bias: Tensor | undefined;
  readonly eps: number;

  constructor(readonly numGroups: number, readonly numChannels: number, opts: { readonly eps?: number; readonly affine?: boolean } = {}) {
    super();
    if (numChannels % numGroups !== 0) throw new KilnError(`GroupNorm: num_channels (${numChannels}) must be divisible by num_groups (${numGroups})`);
    this.eps = opts.eps ?? 1e-5;
    const affine = opts.affine ?? true;
    this.weight = affine ? this.registerParameter('weight', ones([numChannels])) : undefined;
    this.bias = affine ? this.registerParameter('bias', zeros([numChannels])) : undefined;
  }

  forward(x: Tensor): Tensor {
    if (x.shape[1] !== this.numChannels) throw new KilnError(`GroupNorm(${this.numGroups}, ${this.numChannels}) got ${x.shape[1]} channels in input [${x.shape.join(',')}]`);
    return F.groupNorm(x, this.numGroups, this.weight, this.bias, this.eps);
  }
}

/**
 * Normalises each sample's channel over its own positions (group norm with a group per channel),
 * as torch.nn.InstanceNorm1d/2d: not affine unless `affine`, and without running statistics.
 */
abstract class InstanceNorm extends Module {
  readonly weight: Tensor | undefined;
  readonly bias: Tensor | undefined;
  readonly eps: number;
  protected abstract readonly rank: number;

  constructor(readonly numFeatures: number, opts: { readonly eps?: number; readonly affine?: boolean; readonly trackRunningStats?: boolean } = {}) {
    super();
    if (opts.trackRunningStats) throw new KilnError(`${this.constructor.name}: trackRunningStats is not supported (instance statistics are used in training and evaluation alike)`);
    this.eps = opts.eps ?? 1e-5;
    this.weight = opts.affine ? this.registerParameter('weight', ones([numFeatures])) : undefined;
    this.bias = opts.affine ? this.registerParameter('bias', zeros([numFeatures])) : undefined;
  }

  forward(x: Tensor): Tensor {
    const name = this.constructor.name;
    // An unbatched [C, ...] input is a batch of one.
    const batched = x.shape.length === this.rank ? x : x.shape.length === this.rank - 1 ? x.unsqueeze(0) : undefined;
    if (!batched || batched.shape[1] !== this.numFeatures) throw new KilnError(`${name}(${this.numFeatures}) expects [N, ${this.numFeatures}, ...] of rank ${this.rank} (or unbatched), got [${x.shape.join(',')}]`);
    const y = F.groupNorm(batched, this.numFeatures, this.weight, this.bias, this.eps);
    return batched === x ? y : y.reshape([...x.shape]);
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${reprNumber(this.eps)}, momentum=0.1, affine=${reprValue(this.weight !== undefined)}, track_running_stats=False`;
  }
}

export class InstanceNorm1d extends InstanceNorm {
  protected readonly rank = 3;
}

export class InstanceNorm2d extends InstanceNorm {
  protected readonly rank = 4;
}
