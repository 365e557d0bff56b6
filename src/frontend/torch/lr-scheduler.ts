import { KilnError } from '../../ir/errors.js';
import type { Optimizer } from './optimizer.js';

// Learning-rate schedulers, as `torch.optim.lr_scheduler`: each sets every parameter group's
// `lr` from PyTorch's closed form at the scheduler's epoch count. The form is evaluated afresh at
// each step (not updated recursively from the last lr), so a loaded state resumes exactly.

/** A scheduler's state: the epoch count and the learning rates it scales. */
export interface SchedulerStateDict {
  readonly lastEpoch: number;
  readonly baseLrs: readonly number[];
}

/**
 * Base class of schedulers: construction records each group's learning rate as its base and
 * applies epoch 0; each `step()` (once per epoch, or per batch for OneCycleLR, after the
 * optimizer's step) advances the count and sets the groups' rates.
 */
export abstract class LRScheduler {
  /** Steps taken: 0 right after construction, as PyTorch's `last_epoch`. */
  lastEpoch = -1;
  baseLrs: number[];
  private lastLrs: number[] = [];

  constructor(readonly optimizer: Optimizer) {
    this.baseLrs = optimizer.paramGroups.map((g) => g.lr);
  }

  /** The learning rate of group `group` at epoch `epoch` (a subclass's formula). */
  protected abstract lrAt(epoch: number, group: number): number;

  /** Advances one epoch and sets every group's learning rate. */
  step(): void {
    this.lastEpoch++;
    this.apply();
  }

  /** The learning rates the last step set, one per group (`get_last_lr()`). */
  getLastLr(): number[] {
    return [...this.lastLrs];
  }

  stateDict(): SchedulerStateDict {
    return { lastEpoch: this.lastEpoch, baseLrs: [...this.baseLrs] };
  }

  /** Resumes from a state (the optimizer's groups get the rates of that epoch). */
  loadStateDict(s: SchedulerStateDict): void {
    if (s.baseLrs.length !== this.optimizer.paramGroups.length) {
      throw new KilnError(`${this.constructor.name}.loadStateDict: the state has ${s.baseLrs.length} groups, the optimizer ${this.optimizer.paramGroups.length}`);
    }
    this.lastEpoch = s.lastEpoch;
    this.baseLrs = [...s.baseLrs];
    this.apply();
  }

  /** Subclasses call this at the end of their constructor, once their fields are set (PyTorch's initial step). */
  protected start(): void {
    this.step();
  }

  private apply(): void {
    this.lastLrs = this.optimizer.paramGroups.map((g, i) => (g.lr = this.lrAt(this.lastEpoch, i)));
  }
}

function positiveInteger(x: number, what: string): number {
  if (!Number.isInteger(x) || x <= 0) throw new KilnError(`${what} must be a positive integer, got ${x}`);
  return x;
}

/** Decays by `gamma` every `stepSize` epochs: base_lr * gamma^floor(epoch / stepSize). */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: Optimizer, opts: { stepSize: number; gamma?: number }) {
    super(optimizer);
    this.stepSize = positiveInteger(opts.stepSize, 'StepLR stepSize');
    this.gamma = opts.gamma ?? 0.1;
    this.start();
  }

  protected lrAt(epoch: number, group: number): number {
    return this.baseLrs[group]! * this.gamma ** Math.floor(epoch / this.stepSize);
  }
}

/** Cosine annealing from the base rate to `etaMin` over `tMax` epochs: etaMin + (base - etaMin)(1 + cos(pi epoch / tMax)) / 2. */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;

  constructor(optimizer: Optimizer, opts: { tMax: number; etaMin?: number }) {
    super(optimizer);
    this.tMax = positiveInteger(opts.tMax, 'CosineAnnealingLR tMax');
    this.etaMin = opts.etaMin ?? 0;
    this.start();
  }

  protected lrAt(epoch: number, group: number): number {
    return this.etaMin + ((this.baseLrs[group]! - this.etaMin) * (1 + Math.cos((Math.PI * epoch) / this.tMax))) / 2;
  }
}

/**
 * Scales the base rate by a factor going linearly from `startFactor` to `endFactor` over
 * `totalIters` epochs, then staying there (a warm-up): base * (start + (end - start) min(epoch, total) / total).
 */
export class LinearLR extends LRScheduler {
  readonly startFactor: number;
  readonly endFactor: number;
  readonly totalIters: number;

  constructor(optimizer: Optimizer, opts: { startFactor?: number; endFactor?: number; totalIters?: number } = {}) {
    super(optimizer);
    this.startFactor = opts.startFactor ?? 1 / 3;
    this.endFactor = opts.endFactor ?? 1;
    this.totalIters = positiveInteger(opts.totalIters ?? 5, 'LinearLR totalIters');
    if (!(this.startFactor > 0 && this.startFactor <= 1)) throw new KilnError(`LinearLR startFactor must be in (0, 1], got ${this.startFactor}`);
    if (!(this.endFactor >= 0 && this.endFactor <= 1)) throw new KilnError(`LinearLR endFactor must be in [0, 1], got ${this.endFactor}`);
    this.start();
  }

  protected lrAt(epoch: number, group: number): number {
    const t = Math.min(epoch, this.totalIters) / this.totalIters;
    return this.baseLrs[group]! * (this.startFactor + (this.endFactor - this.startFactor) * t);
  }
}

/** The base rate times `lrLambda(epoch)` (one function, or one per group): compose a warm-up and a decay. */
export class LambdaLR extends LRScheduler {
  private readonly lambdas: ((epoch: number) => number)[];

  constructor(optimizer: Optimizer, lrLambda: ((epoch: number) => number) | ((epoch: number) => number)[]) {
    super(optimizer);
    const n = optimizer.paramGroups.length;
    this.lambdas = Array.isArray(lrLambda) ? lrLambda : new Array(n).fill(lrLambda);
    if (this.lambdas.length !== n) throw new KilnError(`LambdaLR: expected ${n} lr_lambdas, got ${this.lambdas.length}`);
    this.start();
  }

  protected lrAt(epoch: number, group: number): number {
    return this.baseLrs[group]! * this.lambdas[group]!(epoch);
  }
}

/** Options of OneCycleLR, as PyTorch's (the step count as `totalSteps` or `epochs` x `stepsPerEpoch`). */
export interface OneCycleOptions {
  readonly maxLr: number | readonly number[];
  readonly totalSteps?: number;
  readonly epochs?: number;
  readonly stepsPerEpoch?: number;
  readonly pctStart?: number;
  readonly annealStrategy?: 'cos' | 'linear';
  readonly divFactor?: number;
  readonly finalDivFactor?: number;
  readonly threePhase?: boolean;
  /**
   * Whether to cycle momentum too. kiln compiles momentum into the update rule, so it cannot
   * vary per step: only false is taken (PyTorch's default is true; set it to false explicitly).
   */
  readonly cycleMomentum?: false;
}

/**
 * The 1cycle policy, stepped once per batch: from maxLr / divFactor up to maxLr over the first
 * pctStart of the steps, then down to that initial rate / finalDivFactor (with `threePhase`,
 * back to the initial rate first), cosine or linear; PyTorch's phase boundaries
 * (pctStart * total - 1, total - 1).
 */
export class OneCycleLR extends LRScheduler {
  readonly totalSteps: number;
  private readonly phases: { end: number; from: 'initial' | 'max'; to: 'initial' | 'max' | 'min' }[];
  private readonly rates: { initial: number; max: number; min: number }[];
  private readonly anneal: (from: number, to: number, pct: number) => number;

  constructor(optimizer: Optimizer, opts: OneCycleOptions) {
    super(optimizer);
    if ((opts.cycleMomentum as boolean | undefined) === true) {
      throw new KilnError('OneCycleLR: cycleMomentum is not supported (momentum is compiled into the update rule); pass cycleMomentum: false');
    }
    this.totalSteps = opts.totalSteps !== undefined
      ? positiveInteger(opts.totalSteps, 'OneCycleLR totalSteps')
      : positiveInteger(opts.epochs ?? NaN, 'OneCycleLR epochs (or totalSteps)') * positiveInteger(opts.stepsPerEpoch ?? NaN, 'OneCycleLR stepsPerEpoch');
    const pct = opts.pctStart ?? 0.3;
    if (!(pct >= 0 && pct <= 1)) throw new KilnError(`OneCycleLR pctStart must be in [0, 1], got ${pct}`);
    const n = optimizer.paramGroups.length;
    const maxLrs = typeof opts.maxLr === 'number' ? new Array<number>(n).fill(opts.maxLr) : [...opts.maxLr];
    if (maxLrs.length !== n) throw new KilnError(`OneCycleLR: expected ${n} maxLr values, got ${maxLrs.length}`);
    const div = opts.divFactor ?? 25;
    const finalDiv = opts.finalDivFactor ?? 1e4;
    this.rates = maxLrs.map((max) => ({ initial: max / div, max, min: max / div / finalDiv }));
    this.baseLrs = this.rates.map((r) => r.initial);
    const t = this.totalSteps;
    this.phases = opts.threePhase
      ? [{ end: pct * t - 1, from: 'initial', to: 'max' }, { end: 2 * pct * t - 2, from: 'max', to: 'initial' }, { end: t - 1, from: 'initial', to: 'min' }]
      : [{ end: pct * t - 1, from: 'initial', to: 'max' }, { end: t - 1, from: 'max', to: 'min' }];
    this.anneal = (opts.annealStrategy ?? 'cos') === 'cos'
      ? (from, to, p) => to + ((from - to) / 2) * (Math.cos(Math.PI * p) + 1)
      : (from, to, p) => (to - from) * p + from;
    this.start();
  }

  protected lrAt(epoch: number, group: number): number {
    if (epoch > this.totalSteps) throw new KilnError(`OneCycleLR: tried to step ${epoch} times; the specified number of total steps is ${this.totalSteps}`);
    const r = this.rates[group]!;
    let begin = 0;
    for (const [i, phase] of this.phases.entries()) {
      if (epoch <= phase.end || i === this.phases.length - 1) return this.anneal(r[phase.from], r[phase.to], (epoch - begin) / (phase.end - begin));
      begin = phase.end;
    }
    throw new KilnError('OneCycleLR: no phase');
  }
}
