import { describe, expect, it } from 'vitest';
import { mnistSplit, type Digits } from '../../../examples/train-mnist/data.js';
import { mlp } from '../../../examples/train-mnist/models.js';
import { train } from '../../../examples/train-mnist/train.js';
import { useDefaultGpu } from '../default-gpu.js';

const head = (d: Digits, n: number): Digits => ({ images: d.images.subarray(0, n * 784), labels: d.labels.subarray(0, n), count: n });
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

// The example's MLP trained for 150 steps with float32 and with mixed precision (float16
// products, float32 weights and Adam state, dynamic loss scaling), same seed and batches.
describe('MNIST MLP with mixed precision', () => {
  const gpu = useDefaultGpu();

  it("the loss falls like the float32 run's", async () => {
    const data = head(mnistSplit().train, 4800);
    const opts = { model: mlp, shape: 'flat', epochs: 1, batchSize: 32, lr: 1e-3, readLossEvery: 5 } as const;
    const f32 = await train(gpu(), data, opts);
    const mixed = await train(gpu(), data, { ...opts, amp: true });
    expect(mixed.steps).toBe(150);
    // Both start near ln(10) = 2.3 and fall below a third of it.
    const early = mean(mixed.losses.slice(0, 2));
    const late = mean(mixed.losses.slice(-6));
    expect(early).toBeGreaterThan(1.5);
    expect(late).toBeLessThan(early / 3);
    // float16 products perturb each step by ~1e-3 relative; over 150 steps the two runs were
    // measured to differ by at most 0.0076 nats at any step read, against a batch-to-batch
    // spread of the loss of about 0.15 (0.13 to 0.65 late in the run). Bounds 4x what was
    // measured: step by step within 0.03, the means of the last 30 steps within 0.02.
    expect(Math.abs(late - mean(f32.losses.slice(-6)))).toBeLessThan(0.02);
    mixed.losses.forEach((l, i) => expect(Math.abs(l - f32.losses[i]!)).toBeLessThan(0.03));
    // The initial scale 2^16 suits this model: no step overflowed.
    expect(mixed.skippedSteps).toBe(0);
  });
});
