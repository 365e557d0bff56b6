import { KilnError } from '../../../ir/errors.js';
import { Module } from '../module.js';
import type { Tensor } from '../tensor.js';

/** Holds modules in a list (named 0, 1, 2, ...) so their parameters are registered; it has no forward. */
export class ModuleList extends Module {
  protected readonly items: Module[] = [];

  constructor(modules: Iterable<Module> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  get length(): number {
    return this.items.length;
  }

  at(i: number): Module | undefined {
    return this.items.at(i);
  }

  append(m: Module): this {
    this.items.push(this.registerModule(String(this.items.length), m));
    return this;
  }

  extend(modules: Iterable<Module>): this {
    for (const m of modules) this.append(m);
    return this;
  }

  [Symbol.iterator](): Iterator<Module> {
    return this.items[Symbol.iterator]();
  }

  forward(..._inputs: Tensor[]): Tensor {
    throw new KilnError('ModuleList has no forward(): iterate over it in your module\'s forward');
  }
}

/** A ModuleList that runs its modules in order; children are named 0, 1, 2, ... */
export class Sequential extends ModuleList {
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
