// A dataset whose samples cost real CPU time, as decoded and augmented images do: each sample is a
// 28x28 synthetic digit-like image, randomly shifted and flipped, with noise, then blurred
// `passes` times (the heavy part). Worker threads build it from this module (see main.ts).
import * as kiln from '../../src/index.js';

const SIDE = 28;

/** One sample: a flattened image and its label (a bigint: an int64 label, as PyTorch's). */
export interface Sample {
  readonly x: Float32Array;
  readonly y: bigint;
}

export class AugmentedImages extends kiln.data.Dataset<Sample> {
  constructor(readonly length: number, private readonly passes: number) {
    super();
  }

  get(i: number, random = new kiln.Random(i)): Sample {
    const label = i % 10;
    let img: Float32Array = new Float32Array(SIDE * SIDE);
    // A class-dependent pattern: a bar at a position and angle set by the label.
    for (let r = 0; r < SIDE; r++) {
      for (let c = 0; c < SIDE; c++) img[r * SIDE + c] = Math.abs(((r * (label + 1) + c * 3) % 17) - label) < 2 ? 1 : 0;
    }
    // Augmentation drawn from the sample's own generator: the same batches whichever thread loads it.
    const dr = Math.floor(random.next() * 5) - 2;
    const dc = Math.floor(random.next() * 5) - 2;
    const flip = random.next() < 0.5;
    const out = new Float32Array(SIDE * SIDE);
    for (let r = 0; r < SIDE; r++) {
      for (let c = 0; c < SIDE; c++) {
        const sr = r - dr;
        const sc = flip ? SIDE - 1 - (c - dc) : c - dc;
        const v = sr >= 0 && sr < SIDE && sc >= 0 && sc < SIDE ? img[sr * SIDE + sc]! : 0;
        out[r * SIDE + c] = v + 0.1 * random.normal();
      }
    }
    img = out;
    for (let p = 0; p < this.passes; p++) img = blur(img);
    return { x: img, y: BigInt(label) };
  }
}

/** A 3x3 box blur (edges clamped). */
function blur(src: Float32Array): Float32Array {
  const dst = new Float32Array(src.length);
  for (let r = 0; r < SIDE; r++) {
    for (let c = 0; c < SIDE; c++) {
      let s = 0;
      for (let dr = -1; dr <= 1; dr++) {
        const rr = Math.min(SIDE - 1, Math.max(0, r + dr));
        for (let dc = -1; dc <= 1; dc++) s += src[rr * SIDE + Math.min(SIDE - 1, Math.max(0, c + dc))]!;
      }
      dst[r * SIDE + c] = s / 9;
    }
  }
  return dst;
}

/** What a worker thread calls to make its copy of the dataset. */
export function augmentedImages(length: number, passes: number): AugmentedImages {
  return new AugmentedImages(length, passes);
}
