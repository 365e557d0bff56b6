import { KilnError } from '../../../ir/errors.js';
import { Module } from '../module.js';
import type { Tensor } from '../tensor.js';

/** Runs its modules in order; children are named 0, 1, 2, ... */
export class Sequential extends Module {
  readonly layers: Module[];

  constructor(...layers: Module[]) {
    super();
    this.layers = layers.map((m, i) => this.registerModule(String(i), m));
  }

  get length(): number {
    return this.layers.length;
  }

  /** The i-th module (negative counts from the end). */
  at(i: number): Module | undefined {
    return this.layers.at(i);
  }

  /** Appends a module (named by its position). */
  append(m: Module): this {
    this.layers.push(this.registerModule(String(this.layers.length), m));
    return this;
  }

  [Symbol.iterator](): Iterator<Module> {
    return this.layers[Symbol.iterator]();
  }

  forward(x: Tensor): Tensor {
    return this.layers.reduce((h, m) => m.call(h), x);
  }
}

/** Holds modules in a list (named 0, 1, 2, ...) so their parameters are registered; it has no forward. */
export class ModuleList extends Module {
  private readonly items: Module[] = [];

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

  forward(): Tensor {
    throw new KilnError('ModuleList has no forward(): iterate over it in your module\'s forward');
  }
}
