import { KilnError } from '../../ir/errors.js';
import type { Value } from '../../ir/graph.js';
import { Optimizer, type ParamGroupSpec, type UpdateBuilder, type UpdateInputs, type UpdateResult } from './optimizer.js';
import type { Tensor } from './tensor.js';

// `kiln.optim`, as `torch.optim`: optimizers, each writing its update rule once as elementwise
// graph code over a parameter, its gradient and its state (see optimizer.ts), and the
// learning-rate schedulers.

export {
  Optimizer, UpdateBuilder, type UpdateInputs, type UpdateResult, type Hyperparameters, type ParamGroup, type ParamGroupSpec,
  type OptimizerStateDict,
} from './optimizer.js';
export * as lrScheduler from './lr-schedulers.js';

/** Refuses a negative (or NaN) hyperparameter, by PyTorch's name and message: `Invalid momentum value: -1`. */
function nonNegative(values: Readonly<Record<string, number>>): void {
  for (const [name, v] of Object.entries(values)) if (!(v >= 0)) throw new KilnError(`Invalid ${name} value: ${v}`);
}

/** Hyperparameters of SGD, as PyTorch's. */
export interface SGDHyperparameters {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

/** Options of SGD: the learning rate, and the rest defaulting as in PyTorch. */
export type SGDOptions = Pick<SGDHyperparameters, 'lr'> & Partial<SGDHyperparameters>;

/**
 * Stochastic gradient descent with optional momentum, dampening, weight decay and Nesterov
 * momentum (PyTorch's rule). Whether there is a momentum buffer is one choice for the whole
 * optimizer (the state names are shared), so groups agree on momentum being zero or not.
 */
export class SGD extends Optimizer<SGDHyperparameters> {
  constructor(params: Iterable<Tensor> | Iterable<ParamGroupSpec<SGDHyperparameters>>, opts: SGDOptions) {
    super(params, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...opts });
  }

  protected override validate(h: SGDHyperparameters): void {
    if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) throw new KilnError('Nesterov momentum requires a momentum and zero dampening');
    nonNegative({ momentum: h.momentum, weight_decay: h.weightDecay });
    const first = this.paramGroups[0] ?? h;
    if ((first.momentum === 0) !== (h.momentum === 0)) throw new KilnError('SGD: parameter groups must all have momentum or all have none (they share one state layout)');
  }

  stateNames(): readonly string[] {
    return this.defaults.momentum || this.paramGroups.some((g) => g.momentum) ? ['momentum_buffer'] : [];
  }

  update(b: UpdateBuilder, x: UpdateInputs, h: SGDHyperparameters): UpdateResult {
    let d = b.axpy(x.grad, h.weightDecay, x.param);
    const state: Value[] = [];
    if (h.momentum) {
      const buf = x.state[0]!;
      let next = b.add(b.scale(buf, h.momentum), b.scale(d, 1 - h.dampening));
      // PyTorch starts the buffer at the first gradient itself (which differs only with dampening).
      if (h.dampening) next = b.graph.addNode('where', [b.op('less_equal', x.step, b.scalar(1, x.step)), d, next]).output;
      state.push(next);
      d = h.nesterov ? b.axpy(d, h.momentum, next) : next;
    }
    return { param: b.sub(x.param, b.mul(b.like(x.lr, x.param), d)), state };
  }
}

/** Hyperparameters of Adam and AdamW, as PyTorch's. */
export interface AdamHyperparameters {
  lr: number;
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;
}

/** Options of Adam and AdamW, each defaulting as in PyTorch. */
export type AdamOptions = Partial<AdamHyperparameters>;

/** Adam (with L2 weight decay added to the gradient, as PyTorch's Adam). */
export class Adam extends Optimizer<AdamHyperparameters> {
  constructor(params: Iterable<Tensor> | Iterable<ParamGroupSpec<AdamHyperparameters>>, opts: AdamOptions = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, ...opts });
  }

  protected override validate(h: AdamHyperparameters): void {
    nonNegative({ epsilon: h.eps });
    h.betas.forEach((beta, i) => { if (!(beta >= 0 && beta < 1)) throw new KilnError(`Invalid beta parameter at index ${i}: ${beta}`); });
    nonNegative({ weight_decay: h.weightDecay });
  }

  stateNames(): readonly string[] {
    return ['exp_avg', 'exp_avg_sq'];
  }

  /** AdamW decays the parameter itself; Adam adds the decay to the gradient. */
  protected decoupled(): boolean {
    return false;
  }

  update(b: UpdateBuilder, x: UpdateInputs, h: AdamHyperparameters): UpdateResult {
    const [b1, b2] = h.betas;
    let p = x.param;
    const lr = b.like(x.lr, p);
    let g = x.grad;
    if (h.weightDecay && this.decoupled()) p = b.sub(p, b.mul(b.scale(lr, h.weightDecay), p));
    else g = b.axpy(g, h.weightDecay, p);
    const m = b.add(b.scale(x.state[0]!, b1), b.scale(g, 1 - b1));
    const v = b.add(b.scale(x.state[1]!, b2), b.scale(b.mul(g, g), 1 - b2));
    // Bias corrections are scalars of the step number, computed once per step.
    const bc1 = b.sub(b.scalar(1, x.step), b.op('pow', b.scalar(b1, x.step), x.step));
    const bc2 = b.sub(b.scalar(1, x.step), b.op('pow', b.scalar(b2, x.step), x.step));
    const stepSize = b.like(b.div(x.lr, bc1), p);
    const denom = b.add(b.div(b.op('sqrt', v), b.like(b.op('sqrt', bc2), p)), b.scalar(h.eps, p));
    return { param: b.sub(p, b.mul(stepSize, b.div(m, denom))), state: [m, v] };
  }
}

/** AdamW: Adam with decoupled weight decay (default 0.01), as PyTorch's. */
export class AdamW extends Adam {
  constructor(params: Iterable<Tensor> | Iterable<ParamGroupSpec<AdamHyperparameters>>, opts: AdamOptions = {}) {
    super(params, { weightDecay: 0.01, ...opts });
  }

  protected override decoupled(): boolean {
    return true;
  }
}

/** Hyperparameters of Adagrad, as PyTorch's. */
export interface AdagradHyperparameters {
  lr: number;
  /** The step's learning rate is lr / (1 + (step - 1) * lrDecay). */
  lrDecay: number;
  weightDecay: number;
  /** The value the sum of squared gradients starts at. */
  initialAccumulatorValue: number;
  eps: number;
}

/** Options of Adagrad, each defaulting as in PyTorch. */
export type AdagradOptions = Partial<AdagradHyperparameters>;

/**
 * Adagrad, as PyTorch's: each element's step is scaled by the inverse square root of its sum of
 * squared gradients (L2 weight decay added to the gradient first), with an optional decay of
 * the learning rate over the steps.
 */
export class Adagrad extends Optimizer<AdagradHyperparameters> {
  constructor(params: Iterable<Tensor> | Iterable<ParamGroupSpec<AdagradHyperparameters>>, opts: AdagradOptions = {}) {
    super(params, { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, ...opts });
  }

  protected override validate(h: AdagradHyperparameters): void {
    nonNegative({ lr_decay: h.lrDecay, weight_decay: h.weightDecay, initial_accumulator_value: h.initialAccumulatorValue, epsilon: h.eps });
  }

  stateNames(): readonly string[] {
    return ['sum'];
  }

  override initialState(_name: string, h: AdagradHyperparameters): number {
    return h.initialAccumulatorValue;
  }

  update(b: UpdateBuilder, x: UpdateInputs, h: AdagradHyperparameters): UpdateResult {
    const g = b.axpy(x.grad, h.weightDecay, x.param);
    const sum = b.add(x.state[0]!, b.mul(g, g));
    // The decayed learning rate is a scalar of the step number, computed once per step.
    const decay = b.add(b.scalar(1, x.step), b.scale(b.sub(x.step, b.scalar(1, x.step)), h.lrDecay));
    const lr = b.like(b.div(x.lr, decay), x.param);
    const std = b.add(b.op('sqrt', sum), b.scalar(h.eps, x.param));
    return { param: b.sub(x.param, b.mul(lr, b.div(g, std))), state: [sum] };
  }
}

/** Hyperparameters of RMSprop, as PyTorch's. */
export interface RMSpropHyperparameters {
  lr: number;
  /** The smoothing of the squared gradients' running average. */
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  /** Normalise by the variance (the running average of squares less the squared running mean). */
  centered: boolean;
}

/** Options of RMSprop, each defaulting as in PyTorch. */
export type RMSpropOptions = Partial<RMSpropHyperparameters>;

/**
 * RMSprop, as PyTorch's: each element's step is its gradient (L2 weight decay added) over the
 * root of a running average of squared gradients (centered: of their variance), plus eps, with
 * optional momentum. As SGD's, the state layout is one for the optimizer: groups agree on
 * having momentum and on centering.
 */
export class RMSprop extends Optimizer<RMSpropHyperparameters> {
  constructor(params: Iterable<Tensor> | Iterable<ParamGroupSpec<RMSpropHyperparameters>>, opts: RMSpropOptions = {}) {
    super(params, { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, ...opts });
  }

  protected override validate(h: RMSpropHyperparameters): void {
    // The learning rate is checked for every group by Optimizer.
    nonNegative({ epsilon: h.eps, momentum: h.momentum, weight_decay: h.weightDecay, alpha: h.alpha });
    const first = this.paramGroups[0] ?? h;
    if ((first.momentum === 0) !== (h.momentum === 0) || first.centered !== h.centered) {
      throw new KilnError('RMSprop: parameter groups must agree on having momentum and on centered (they share one state layout)');
    }
  }

  stateNames(): readonly string[] {
    const h = this.paramGroups[0] ?? this.defaults;
    return ['square_avg', ...(h.momentum ? ['momentum_buffer'] : []), ...(h.centered ? ['grad_avg'] : [])];
  }

  update(b: UpdateBuilder, x: UpdateInputs, h: RMSpropHyperparameters): UpdateResult {
    const g = b.axpy(x.grad, h.weightDecay, x.param);
    const sq = b.add(b.scale(x.state[0]!, h.alpha), b.scale(b.mul(g, g), 1 - h.alpha));
    const state = [sq];
    let variance = sq;
    if (h.centered) {
      const avg = b.add(b.scale(x.state[h.momentum ? 2 : 1]!, h.alpha), b.scale(g, 1 - h.alpha));
      variance = b.sub(sq, b.mul(avg, avg));
      state.push(avg);
    }
    let d = b.div(g, b.add(b.op('sqrt', variance), b.scalar(h.eps, g)));
    if (h.momentum) {
      d = b.add(b.scale(x.state[1]!, h.momentum), d);
      state.splice(1, 0, d);
    }
    return { param: b.sub(x.param, b.mul(b.like(x.lr, x.param), d)), state };
  }
}
