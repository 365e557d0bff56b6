import { KilnError } from '../../../ir/errors.js';
import * as F from '../functional.js';
import { Module } from '../module.js';
import { ones, zeros, type Tensor } from '../tensor.js';

export interface BatchNorm2dOptions {
  readonly eps?: number;
  /** Kept for PyTorch's signature; running statistics are not updated (no training yet). */
  readonly momentum?: number;
  readonly affine?: boolean;
  readonly trackRunningStats?: boolean;
}

/** Batch norm over dimension 1 with running statistics (inference); the ranks it takes are its subclass's. */
abstract class BatchNorm extends Module {
  readonly weight: Tensor | undefined;
  readonly bias: Tensor | undefined;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  readonly numBatchesTracked: Tensor;
  readonly eps: number;
  protected abstract readonly ranks: readonly number[];

  constructor(readonly numFeatures: number, opts: BatchNorm2dOptions = {}) {
    super();
    if (opts.trackRunningStats === false) throw new KilnError(`${this.constructor.name}: trackRunningStats: false needs batch statistics, which kiln does not compute yet`);
    this.eps = opts.eps ?? 1e-5;
    const affine = opts.affine ?? true;
    this.weight = affine ? this.registerParameter('weight', ones([numFeatures])) : undefined;
    this.bias = affine ? this.registerParameter('bias', zeros([numFeatures])) : undefined;
    this.runningMean = this.registerBuffer('running_mean', zeros([numFeatures]));
    this.runningVar = this.registerBuffer('running_var', ones([numFeatures]));
    this.numBatchesTracked = this.registerBuffer('num_batches_tracked', zeros([], { dtype: 'i32' }));
  }

  forward(x: Tensor): Tensor {
    const name = this.constructor.name;
    if (!this.ranks.includes(x.shape.length)) throw new KilnError(`${name}: expected ${this.ranks.map((r) => `${r}D`).join(' or ')} input (got ${x.shape.length}D input)`);
    if (x.shape[1] !== this.numFeatures) throw new KilnError(`${name}(${this.numFeatures}) got ${x.shape[1]} channels in input [${x.shape.join(',')}]`);
    return F.batchNorm(x, this.runningMean, this.runningVar, {
      ...(this.weight ? { weight: this.weight } : {}),
      ...(this.bias ? { bias: this.bias } : {}),
      training: this.training,
      eps: this.eps,
    });
  }
}

/**
 * Batch norm over the channels of [N, C, H, W] with running statistics (inference), as
 * torch.nn.BatchNorm2d. Its state keys are PyTorch's (`running_mean`, `running_var`,
 * `num_batches_tracked`), so PyTorch checkpoints load.
 */
export class BatchNorm2d extends BatchNorm {
  protected readonly ranks = [4];
}

/** Batch norm over the features of [N, C] or [N, C, L], as torch.nn.BatchNorm1d (inference). */
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
}
