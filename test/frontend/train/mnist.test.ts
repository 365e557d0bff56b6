import { describe, expect, it } from 'vitest';
import { mnistSplit, type Digits } from '../../../examples/train-mnist/data.js';
import { bncnn, mlp } from '../../../examples/train-mnist/models.js';
import { accuracy, train } from '../../../examples/train-mnist/train.js';
import { useDefaultGpu } from '../default-gpu.js';

/** The first `n` digits of a set. */
const head = (d: Digits, n: number): Digits => ({ images: d.images.subarray(0, n * 784), labels: d.labels.subarray(0, n), count: n });

// The full example (npm run train-mnist) trains for minutes; this trains the same MLP, through
// the same compiled step and data loader, for a few hundred steps on a subset.
describe('MNIST example (short run)', () => {
  const gpu = useDefaultGpu();

  it('the loss falls and held-out accuracy is far above chance after 300 steps', async () => {
    const { train: trainSet, test } = mnistSplit();
    const r = await train(gpu(), head(trainSet, 3200), { model: mlp, shape: 'flat', epochs: 3, batchSize: 32, lr: 1e-3, readLossEvery: 10 });
    expect(r.steps).toBe(300);
    const early = r.losses.slice(0, 3).reduce((a, b) => a + b) / 3;
    const late = r.losses.slice(-5).reduce((a, b) => a + b) / 5;
    expect(early).toBeGreaterThan(1);
    expect(late).toBeLessThan(early / 3);
    const acc = await accuracy(gpu(), r.model, head(test, 1000), 'flat');
    expect(acc).toBeGreaterThan(0.85); // chance is 0.1
  });

  it('the CNN with batch norm and dropout learns in 60 steps and is evaluated in eval mode', async () => {
    const { train: trainSet, test } = mnistSplit();
    const r = await train(gpu(), head(trainSet, 1920), { model: bncnn, shape: 'image', epochs: 1, batchSize: 32, lr: 3e-3, readLossEvery: 10 });
    expect(r.steps).toBe(60);
    expect(r.model.training).toBe(true);
    const acc = await accuracy(gpu(), r.model, head(test, 500), 'image');
    expect(r.model.training).toBe(true); // accuracy() traces in eval mode and restores the mode
    expect(acc).toBeGreaterThan(0.7); // chance is 0.1
  }, 300_000);
});
