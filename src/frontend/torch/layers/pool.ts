import * as F from '../functional.js';
import { Module } from '../module.js';
import { reprValue } from '../module-repr.js';
import type { Tensor } from '../tensor.js';

/** Max pooling over [N, C, H, W]; the stride defaults to the kernel size, as in PyTorch. */
export class MaxPool2d extends Module {
  constructor(readonly kernelSize: F.Size2, readonly opts: F.Pool2dOptions & { dilation?: F.Size2 } = {}) { super(); }
  forward(x: Tensor): Tensor { return F.maxPool2d(x, this.kernelSize, this.opts); }
  override extraRepr(): string {
    const o = this.opts;
    return `kernel_size=${reprValue(this.kernelSize)}, stride=${reprValue(o.stride ?? this.kernelSize)}, padding=${reprValue(o.padding ?? 0)}, dilation=${reprValue(o.dilation ?? 1)}, ceil_mode=${reprValue(o.ceilMode ?? false)}`;
  }
}

/** Average pooling over [N, C, H, W]; padded positions count in the divisor by default (countIncludePad), as in PyTorch. */
export class AvgPool2d extends Module {
  constructor(readonly kernelSize: F.Size2, readonly opts: F.Pool2dOptions & { countIncludePad?: boolean } = {}) { super(); }
  forward(x: Tensor): Tensor { return F.avgPool2d(x, this.kernelSize, this.opts); }
  override extraRepr(): string { return `kernel_size=${reprValue(this.kernelSize)}, stride=${reprValue(this.opts.stride ?? this.kernelSize)}, padding=${reprValue(this.opts.padding ?? 0)}`; }
}

/** Averages into an outputSize grid of bins, whatever the input size. */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: F.Size2) { super(); }
  forward(x: Tensor): Tensor { return F.adaptiveAvgPool2d(x, this.outputSize); }
  override extraRepr(): string { return `output_size=${reprValue(this.outputSize)}`; }
}

/** Max pooling over [N, C, L]; the stride defaults to the kernel size, as in PyTorch. */
export class MaxPool1d extends Module {
  constructor(readonly kernelSize: number, readonly opts: F.Pool1dOptions & { dilation?: number } = {}) { super(); }
  forward(x: Tensor): Tensor { return F.maxPool1d(x, this.kernelSize, this.opts); }
}

/** Average pooling over [N, C, L]. */
export class AvgPool1d extends Module {
  constructor(readonly kernelSize: number, readonly opts: F.Pool1dOptions & { countIncludePad?: boolean } = {}) { super(); }
  forward(x: Tensor): Tensor { return F.avgPool1d(x, this.kernelSize, this.opts); }
}

/** Averages [N, C, L] into outputSize bins. */
export class AdaptiveAvgPool1d extends Module {
  constructor(readonly outputSize: number) { super(); }
  forward(x: Tensor): Tensor { return F.adaptiveAvgPool1d(x, this.outputSize); }
}
