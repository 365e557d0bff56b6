import { KilnError } from '../../../ir/errors.js';
import { Module, type AnyModule } from '../module.js';
import type { Tensor } from '../tensor.js';

/** Holds modules in a list (named 0, 1, 2, ...) so their parameters are registered; it has no forward. */
export class ModuleList<M extends AnyModule = Module> extends Module {
  protected readonly items: M[] = [];

  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  get length(): number {
    return this.items.length;
  }

  at(i: number): M | undefined {
    return this.items.at(i);
  }

  append(m: M): this {
    this.items.push(this.registerModule(String(this.items.length), m));
    return this;
  }

  extend(modules: Iterable<M>): this {
    for (const m of modules) this.append(m);
    return this;
  }

  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }

  forward(..._inputs: Tensor[]): Tensor {
    throw new KilnError('ModuleList has no forward(): iterate over it in your module\'s forward');
  }
}

/** A ModuleList that runs its modules in order; children are named 0, 1, 2, ... */
export class Sequential extends ModuleList<Module> {
  constructor(...layers: Module[]) {
    super(layers);
  }

  /** Its modules, in order. */
  get layers(): readonly Module[] {
    return this.items;
  }

  override forward(x: Tensor): Tensor {
    return this.items.reduce((h, m) => m.call(h), x);
  }
}
