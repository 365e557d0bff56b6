// Two ShuffleNet-v2 units (Ma et al., 2018): a downsampling unit (both branches, stride 2) and a
// basic unit (channel split, one branch, concat), each ending in a channel shuffle.
// `kiln ir dist/examples/shufflenet/unit.js` and `kiln run dist/examples/shufflenet/unit.js` load this file.
import {
  BatchNorm2d, ChannelShuffle, Conv2d, Module, ReLU, Sequential,
} from '../../src/frontend/torch/nn.js';
import { cat, manualSeed, rand, randn, type Tensor } from '../../src/frontend/torch/index.js';

/** 1x1 convolution, batch norm, ReLU. */
function pointwise(inp: number, out: number): Module[] {
  return [new Conv2d(inp, out, 1, { bias: false }), new BatchNorm2d(out), new ReLU()];
}

/** Depthwise 3x3 convolution and batch norm (no ReLU, as in the paper). */
function depthwise(channels: number, stride: number): Module[] {
  return [new Conv2d(channels, channels, 3, { stride, padding: 1, groups: channels, bias: false }), new BatchNorm2d(channels)];
}

/** One ShuffleNet-v2 unit: stride 1 splits the channels in two, stride 2 runs both branches on all. */
export class ShuffleUnit extends Module {
  readonly branch1: Sequential | undefined;
  readonly branch2: Sequential;
  readonly shuffle = this.registerModule('shuffle', new ChannelShuffle(2));

  constructor(readonly inChannels: number, readonly outChannels: number, readonly stride: 1 | 2) {
    super();
    const half = outChannels / 2;
    if (stride === 1 && inChannels !== outChannels) throw new Error('a stride-1 unit keeps its channel count');
    this.branch1 = stride === 2
      ? this.registerModule('branch1', new Sequential(...depthwise(inChannels, 2), ...pointwise(inChannels, half)))
      : undefined;
    this.branch2 = this.registerModule('branch2', new Sequential(
      ...pointwise(stride === 2 ? inChannels : half, half), ...depthwise(half, stride), ...pointwise(half, half),
    ));
  }

  forward(x: Tensor): Tensor {
    let out: Tensor;
    if (this.branch1) {
      out = cat([this.branch1.call(x), this.branch2.call(x)], 1);
    } else {
      const [x1, x2] = x.chunk(2, 1);
      out = cat([x1!, this.branch2.call(x2!)], 1);
    }
    return this.shuffle.call(out);
  }
}

manualSeed(7);
export const model = new Sequential(new ShuffleUnit(24, 48, 2), new ShuffleUnit(48, 48, 1));

// Stand-ins for trained batch-norm statistics, so that batch norm is far from the identity.
const state: Record<string, Tensor> = {};
for (const [name, t] of Object.entries(model.stateDict())) {
  if (name.endsWith('running_mean') || name.endsWith('.bias')) state[name] = rand(t.shape, -0.5, 0.5);
  else if (name.endsWith('running_var') || (name.endsWith('.weight') && t.shape.length === 1)) state[name] = rand(t.shape, 0.5, 1.5);
}
await model.loadStateDict(state, { strict: false });

export const exampleInputs = [randn([2, 24, 11, 11])];
