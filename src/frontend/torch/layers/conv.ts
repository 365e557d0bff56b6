import { KilnError } from '../../../ir/errors.js';
import * as F from '../functional.js';
import { Module } from '../module.js';
import { reprValue } from '../module-repr.js';
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

  override extraRepr(): string {
    const o = this.opts;
    const pair = (v: F.Size2 | undefined, d: number) => reprValue(F.pair(v ?? d, 'repr'));
    return [
      `${this.inChannels}, ${this.outChannels}, kernel_size=${reprValue(this.kernelSize)}, stride=${pair(o.stride, 1)}`,
      ...(o.padding !== undefined && o.padding !== 0 ? [`padding=${typeof o.padding === 'string' ? `'${o.padding}'` : reprValue(typeof o.padding === 'number' ? [o.padding, o.padding] : o.padding)}`] : []),
      ...(o.dilation !== undefined && o.dilation !== 1 ? [`dilation=${pair(o.dilation, 1)}`] : []),
      ...(this.groups !== 1 ? [`groups=${this.groups}`] : []),
      ...(this.bias === undefined ? ['bias=False'] : []),
    ].join(', ');
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

export interface Conv1dOptions {
  readonly stride?: number;
  /** An int (both ends), [left, right], 'valid' or 'same'. */
  readonly padding?: number | readonly [number, number] | 'valid' | 'same';
  readonly dilation?: number;
  readonly groups?: number;
  readonly bias?: boolean;
}

/** 1-D convolution over [N, C, L], as torch.nn.Conv1d: a conv2d over [N, C, 1, L] with a [O, C/groups, 1, K] weight. */
export class Conv1d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | undefined;
  readonly groups: number;

  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number, readonly opts: Conv1dOptions = {}) {
    super();
    this.groups = opts.groups ?? 1;
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      throw new KilnError(`Conv1d: in_channels (${inChannels}) and out_channels (${outChannels}) must be divisible by groups (${this.groups})`);
    }
    const fanIn = (inChannels / this.groups) * kernelSize;
    // PyTorch's shape [O, C/groups, K]; viewed as [O, C/groups, 1, K] when it runs.
    this.weight = this.registerParameter('weight', uniformFanIn([outChannels, inChannels / this.groups, kernelSize], fanIn));
    this.bias = opts.bias === false ? undefined : this.registerParameter('bias', uniformFanIn([outChannels], fanIn));
  }

  forward(x: Tensor): Tensor {
    if (x.shape.length !== 3 || x.shape[1] !== this.inChannels) {
      throw new KilnError(`Conv1d(${this.inChannels}, ${this.outChannels}) expects input [N, ${this.inChannels}, L], got [${x.shape.join(',')}]`);
    }
    const p = this.opts.padding ?? 0;
    const padding = p === 'valid' || p === 'same' ? p : typeof p === 'number' ? ([0, p, 0, p] as const) : ([0, p[0], 0, p[1]] as const);
    const [n, c, l] = x.shape as [number, number, number];
    const y = F.conv2d(x.reshape(n, c, 1, l), this.weight.unsqueeze(2), this.bias, {
      stride: [1, this.opts.stride ?? 1], dilation: [1, this.opts.dilation ?? 1], padding, groups: this.groups,
    });
    return y.squeeze(2);
  }
}
