import { KilnError } from '../../../ir/errors.js';
import * as F from '../functional.js';
import { Module } from '../module.js';
import type { Tensor } from '../tensor.js';

// torch.nn's padding layers: F.pad over the last one or two dimensions, by a mode. A padding
// given as one number pads every side by it; as a tuple, (left, right) or (left, right, top, bottom).

type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';

abstract class PadNd extends Module {
  readonly padding: readonly number[];

  constructor(readonly what: string, dims: 1 | 2, padding: number | readonly number[], readonly mode: PadMode, readonly value = 0) {
    super();
    this.padding = typeof padding === 'number' ? new Array<number>(2 * dims).fill(padding) : [...padding];
    if (this.padding.length !== 2 * dims) throw new KilnError(`${what}: padding must be a number or ${2 * dims} numbers, got (${this.padding.join(', ')})`);
  }

  forward(x: Tensor): Tensor {
    return F.pad(x, this.padding, this.mode, this.value);
  }
}

export class ConstantPad1d extends PadNd {
  constructor(padding: number | readonly [number, number], value: number) { super('ConstantPad1d', 1, padding, 'constant', value); }
}

export class ConstantPad2d extends PadNd {
  constructor(padding: number | readonly [number, number, number, number], value: number) { super('ConstantPad2d', 2, padding, 'constant', value); }
}

export class ZeroPad1d extends PadNd {
  constructor(padding: number | readonly [number, number]) { super('ZeroPad1d', 1, padding, 'constant'); }
}

export class ZeroPad2d extends PadNd {
  constructor(padding: number | readonly [number, number, number, number]) { super('ZeroPad2d', 2, padding, 'constant'); }
}

export class ReflectionPad1d extends PadNd {
  constructor(padding: number | readonly [number, number]) { super('ReflectionPad1d', 1, padding, 'reflect'); }
}

export class ReflectionPad2d extends PadNd {
  constructor(padding: number | readonly [number, number, number, number]) { super('ReflectionPad2d', 2, padding, 'reflect'); }
}

export class ReplicationPad1d extends PadNd {
  constructor(padding: number | readonly [number, number]) { super('ReplicationPad1d', 1, padding, 'replicate'); }
}

export class ReplicationPad2d extends PadNd {
  constructor(padding: number | readonly [number, number, number, number]) { super('ReplicationPad2d', 2, padding, 'replicate'); }
}
