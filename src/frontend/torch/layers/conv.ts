import { KilnError } from '../../../ir/errors.js';
import * as F from '../functional.js';
import { Module } from '../module.js';
import type { Tensor } from '../tensor.js';
import { uniformFanIn } from './init.js';

export interface Conv2dOptions {
  readonly stride?: F.Size2;
  /** An int or [h, w] (symmetric), [top, left, bottom, right], 'valid' or 'same'. */
  readonly padding?: F.Padding2 | 'valid' | 'same';
  readonly dilation?: F.Size2;
  readonly groups?: number;
  readonly bias?: boolean;
}

/** 2-D convolution over [N, C, H, W], as torch.nn.Conv2d (weights initialised like PyTorch's). */
export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | undefined;
  readonly kernelSize: [number, number];
  readonly groups: number;

  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: F.Size2, readonly opts: Conv2dOptions = {}) {
    super();
    this.kernelSize = F.pair(kernelSize, 'kernel_size');
    this.groups = opts.groups ?? 1;
    if (inChannels % this.groups !== 0) throw new KilnError(`Conv2d: in_channels (${inChannels}) must be divisible by groups (${this.groups})`);
    if (outChannels % this.groups !== 0) throw new KilnError(`Conv2d: out_channels (${outChannels}) must be divisible by groups (${this.groups})`);
    const [kh, kw] = this.kernelSize;
    const fanIn = (inChannels / this.groups) * kh * kw;
    this.weight = this.registerParameter('weight', uniformFanIn([outChannels, inChannels / this.groups, kh, kw], fanIn));
    this.bias = opts.bias === false ? undefined : this.registerParameter('bias', uniformFanIn([outChannels], fanIn));
  }

  forward(x: Tensor): Tensor {
    if (x.shape.length !== 4 || x.shape[1] !== this.inChannels) {
      throw new KilnError(`Conv2d(${this.inChannels}, ${this.outChannels}) expects input [N, ${this.inChannels}, H, W], got [${x.shape.join(',')}]`);
    }
    const { bias: _, ...conv } = this.opts;
    return F.conv2d(x, this.weight, this.bias, { ...conv, groups: this.groups });
  }
}

/**
 * 2-D transposed convolution over [N, C, H, W], as torch.nn.ConvTranspose2d: weight
 * [C, O/groups, KH, KW], initialised like PyTorch's (its fan-in is O/groups * KH * KW).
 */
export class ConvTranspose2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | undefined;
  readonly kernelSize: [number, number];
  readonly groups: number;

  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: F.Size2, readonly opts: F.ConvTranspose2dOptions & { readonly bias?: boolean } = {}) {
    super();
    this.kernelSize = F.pair(kernelSize, 'kernel_size');
    this.groups = opts.groups ?? 1;
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      throw new KilnError(`ConvTranspose2d: in_channels (${inChannels}) and out_channels (${outChannels}) must be divisible by groups (${this.groups})`);
    }
    const [kh, kw] = this.kernelSize;
    const fanIn = (outChannels / this.groups) * kh * kw;
    this.weight = this.registerParameter('weight', uniformFanIn([inChannels, outChannels / this.groups, kh, kw], fanIn));
    this.bias = opts.bias === false ? undefined : this.registerParameter('bias', uniformFanIn([outChannels], fanIn));
  }

  forward(x: Tensor): Tensor {
    if (x.shape.length !== 4 || x.shape[1] !== this.inChannels) {
      throw new KilnError(`ConvTranspose2d(${this.inChannels}, ${this.outChannels}) expects input [N, ${this.inChannels}, H, W], got [${x.shape.join(',')}]`);
    }
    const { bias: _, ...conv } = this.opts;
    return F.convTranspose2d(x, this.weight, this.bias, { ...conv, groups: this.groups });
  }
}
