import { KilnError } from '../../ir/errors.js';
import { LRScheduler } from './lr-scheduler.js';
import type { Optimizer } from './optimizer.js';

// More of torch.optim.lr_scheduler: the closed forms of ExponentialLR, MultiStepLR, ConstantLR
// and CosineAnnealingWarmRestarts, and ReduceLROnPlateau, which follows a metric instead.

/** base * gamma^epoch. */
export class ExponentialLR extends LRScheduler {
  constructor(optimizer: Optimizer, readonly gamma: number) {
    super(optimizer);
    this.start();
  }

  protected lrAt(epoch: number, group: number): number {
    return this.baseLrs[group]! * this.gamma ** epoch;
  }
}

/** base * gamma^(milestones reached), a milestone reached at its epoch. */
export class MultiStepLR extends LRScheduler {
  readonly milestones: readonly number[];
  readonly gamma: number;

  constructor(optimizer: Optimizer, opts: { milestones: readonly number[]; gamma?: number }) {
    super(optimizer);
    this.milestones = [...opts.milestones].sort((a, b) => a - b);
    this.gamma = opts.gamma ?? 0.1;
    this.start();
  }

  protected lrAt(epoch: number, group: number): number {
    return this.baseLrs[group]! * this.gamma ** this.milestones.filter((m) => m <= epoch).length;
  }
}

/** base * factor for the first totalIters epochs, then base. */
export class ConstantLR extends LRScheduler {
  readonly factor: number;
  readonly totalIters: number;

  constructor(optimizer: Optimizer, opts: { factor?: number; totalIters?: number } = {}) {
    super(optimizer);
    this.factor = opts.factor ?? 1 / 3;
    this.totalIters = opts.totalIters ?? 5;
    if (!(this.factor >= 0 && this.factor <= 1)) throw new KilnError(`ConstantLR factor must be in [0, 1], got ${this.factor}`);
    this.start();
  }

  protected lrAt(epoch: number, group: number): number {
    return this.baseLrs[group]! * (epoch < this.totalIters ? this.factor : 1);
  }
}

/**
 * Cosine annealing restarted every tI epochs, the first period t0 and each next one tMult
 * times longer (SGDR): etaMin + (base - etaMin)(1 + cos(pi tCur / tI)) / 2.
 */
export class CosineAnnealingWarmRestarts extends LRScheduler {
  readonly t0: number;
  readonly tMult: number;
  readonly etaMin: number;

  constructor(optimizer: Optimizer, opts: { t0: number; tMult?: number; etaMin?: number }) {
    super(optimizer);
    this.t0 = opts.t0;
    this.tMult = opts.tMult ?? 1;
    this.etaMin = opts.etaMin ?? 0;
    if (!Number.isInteger(this.t0) || this.t0 <= 0) throw new KilnError(`CosineAnnealingWarmRestarts t0 must be a positive integer, got ${this.t0}`);
    if (!Number.isInteger(this.tMult) || this.tMult < 1) throw new KilnError(`CosineAnnealingWarmRestarts tMult must be an integer >= 1, got ${this.tMult}`);
    this.start();
  }

  protected lrAt(epoch: number, group: number): number {
    let [tCur, tI] = [epoch, this.t0];
    // Whole periods are walked (not a logarithm), so a restart lands exactly on its epoch.
    while (tCur >= tI) {
      tCur -= tI;
      tI *= this.tMult;
    }
    return this.etaMin + ((this.baseLrs[group]! - this.etaMin) * (1 + Math.cos((Math.PI * tCur) / tI))) / 2;
  }
}

export interface ReduceLROnPlateauOptions {
  /** Whether the metric should fall ('min', default: a loss) or rise ('max': an accuracy). */
  readonly mode?: 'min' | 'max';
  /** The factor a reduction multiplies the rate by (default 0.1). */
  readonly factor?: number;
  /** Epochs without improvement tolerated before reducing (default 10). */
  readonly patience?: number;
  /** How much better counts as better (default 1e-4), relative to the best or absolute. */
  readonly threshold?: number;
  readonly thresholdMode?: 'rel' | 'abs';
  /** Epochs after a reduction before counting again (default 0). */
  readonly cooldown?: number;
  /** The lowest rate, for every group or one per group (default 0). */
  readonly minLr?: number | readonly number[];
  /** A reduction smaller than this is skipped (default 1e-8). */
  readonly eps?: number;
}

/** Reduces the learning rates by `factor` when a metric has stopped improving for `patience` epochs, as PyTorch's. */
export class ReduceLROnPlateau {
  readonly mode: 'min' | 'max';
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly thresholdMode: 'rel' | 'abs';
  readonly cooldown: number;
  readonly minLrs: number[];
  readonly eps: number;
  best: number;
  numBadEpochs = 0;
  cooldownCounter = 0;
  lastEpoch = 0;

  constructor(readonly optimizer: Optimizer, opts: ReduceLROnPlateauOptions = {}) {
    this.mode = opts.mode ?? 'min';
    this.factor = opts.factor ?? 0.1;
    if (!(this.factor < 1)) throw new KilnError(`ReduceLROnPlateau: factor should be < 1.0, got ${this.factor}`);
    this.patience = opts.patience ?? 10;
    this.threshold = opts.threshold ?? 1e-4;
    this.thresholdMode = opts.thresholdMode ?? 'rel';
    this.cooldown = opts.cooldown ?? 0;
    this.eps = opts.eps ?? 1e-8;
    const n = optimizer.paramGroups.length;
    this.minLrs = typeof opts.minLr === 'object' ? [...opts.minLr] : new Array<number>(n).fill(opts.minLr ?? 0);
    if (this.minLrs.length !== n) throw new KilnError(`ReduceLROnPlateau: expected ${n} min_lrs, got ${this.minLrs.length}`);
    this.best = this.mode === 'min' ? Infinity : -Infinity;
  }

  /** Takes the epoch's metric (a validation loss, say) and reduces the rates after `patience` epochs without improvement. */
  step(metric: number): void {
    this.lastEpoch++;
    if (this.isBetter(metric)) {
      this.best = metric;
      this.numBadEpochs = 0;
    } else this.numBadEpochs++;
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      this.optimizer.paramGroups.forEach((g, i) => {
        const next = Math.max(g.lr * this.factor, this.minLrs[i]!);
        if (g.lr - next > this.eps) g.lr = next;
      });
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
  }

  /** The groups' current learning rates. */
  getLastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  private isBetter(a: number): boolean {
    const t = this.threshold;
    if (this.mode === 'min') return this.thresholdMode === 'rel' ? a < this.best * (1 - t) : a < this.best - t;
    return this.thresholdMode === 'rel' ? a > this.best * (1 + t) : a > this.best + t;
  }
}
