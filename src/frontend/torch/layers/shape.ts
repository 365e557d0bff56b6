import { KilnError } from '../../../ir/errors.js';
import * as F from '../functional.js';
import { Module } from '../module.js';
import type { Tensor } from '../tensor.js';

/** Merges dimensions startDim..endDim (default: all but the batch), as torch.nn.Flatten. */
export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) { super(); }
  forward(x: Tensor): Tensor { return x.flatten(this.startDim, this.endDim); }
  override extraRepr(): string { return `start_dim=${this.startDim}, end_dim=${this.endDim}`; }
}

/**
 * Zeroes elements with probability p and scales the rest by 1 / (1 - p) in training mode (masks
 * from kiln's default generator, reseeded by manualSeed); the identity in eval mode.
 */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new KilnError(`dropout probability has to be between 0 and 1, but got ${p}`);
  }
  forward(x: Tensor): Tensor { return F.dropout(x, { p: this.p, training: this.training }); }
  override extraRepr(): string { return `p=${this.p}, inplace=False`; }
}

/** Interleaves the channels of `groups` groups (ShuffleNet), as torch.nn.ChannelShuffle. */
export class ChannelShuffle extends Module {
  constructor(readonly groups: number) { super(); }
  forward(x: Tensor): Tensor { return F.channelShuffle(x, this.groups); }
}

/** Resizes [N, C, H, W] by `scaleFactor` or to `size`, as torch.nn.Upsample (see functional.interpolate). */
export class Upsample extends Module {
  constructor(readonly opts: F.InterpolateOptions) { super(); }
  forward(x: Tensor): Tensor { return F.interpolate(x, this.opts); }
}

/** [N, C * r * r, H, W] to [N, C, H * r, W * r], as torch.nn.PixelShuffle. */
export class PixelShuffle extends Module {
  constructor(readonly upscaleFactor: number) { super(); }
  forward(x: Tensor): Tensor { return F.pixelShuffle(x, this.upscaleFactor); }
}

/** Splits dimension `dim` into `sizes`, as torch.nn.Unflatten. */
export class Unflatten extends Module {
  constructor(readonly dim: number, readonly sizes: readonly number[]) { super(); }
  forward(x: Tensor): Tensor {
    const d = this.dim < 0 ? this.dim + x.shape.length : this.dim;
    return x.reshape([...x.shape.slice(0, d), ...this.sizes, ...x.shape.slice(d + 1)]);
  }
}
