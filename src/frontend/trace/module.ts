import { KilnError } from '../../ir/errors.js';
import type { Tensor } from './tensor.js';

/** A trainable tensor of a module; a Tensor tagged as a parameter. */
export type Parameter = Tensor;

/**
 * Base class of layers and models, like `torch.nn.Module`: subclasses register parameters and
 * child modules and implement `forward`. Parameters are named by path (`0.weight`, `fc1.bias`).
 */
export abstract class Module {
  private readonly params = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();
  training = false;

  abstract forward(...inputs: Tensor[]): Tensor;

  /** Runs forward (the call syntax of PyTorch modules). */
  call(...inputs: Tensor[]): Tensor {
    return this.forward(...inputs);
  }

  /** Registers a parameter under `name` and returns it. */
  protected registerParameter(name: string, t: Tensor): Tensor {
    this.params.set(name, t);
    return t;
  }

  /** Registers a child module under `name` and returns it. */
  protected registerModule<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  /** Every parameter with its dotted path, depth first in registration order. */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, p] of this.params) out.push([prefix + n, p]);
    for (const [n, c] of this.children) out.push(...c.namedParameters(`${prefix}${n}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  namedChildren(): [string, Module][] {
    return [...this.children];
  }

  /** Inference mode, like `model.eval()`. */
  eval(): this {
    this.training = false;
    for (const c of this.children.values()) c.eval();
    return this;
  }

  /** Tags each parameter with its path, so traced constants carry it as their `ref`. */
  nameParameters(): void {
    for (const [n, p] of this.namedParameters()) {
      if (p.paramName && p.paramName !== n) throw new KilnError(`parameter ${n} is shared with ${p.paramName}`);
      p.paramName = n;
    }
  }
}
