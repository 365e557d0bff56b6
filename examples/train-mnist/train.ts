// Training and evaluation shared by the example's command line and its test.
import {
  amp, compile, compileTrainStep, crossEntropy, DataLoader, manualSeed, optim, Random, Session, trace, trainLoop,
  type GpuDevice, type Module, type StepReport, type Tensor,
} from '../../src/index.js';
import { fromArray } from '../../src/index.js';
import { makeBatch, permutation, type Digits } from './data.js';

export interface TrainOptions {
  readonly model: () => Module;
  readonly shape: 'flat' | 'image';
  readonly epochs: number;
  readonly batchSize: number;
  readonly lr: number;
  /** Decay the learning rate linearly to this fraction of `lr` over the epochs (default 1: constant). */
  readonly finalLrFraction?: number;
  /** Random shifts of up to this many pixels, applied while preparing batches (default 0). */
  readonly shift?: number;
  readonly seed?: number;
  /** Stop after this many steps (default: all epochs). */
  readonly maxSteps?: number;
  /** Read the loss back every N steps (default 10). */
  readonly readLossEvery?: number;
  /** Mixed precision: float16 matrix products and convolutions, float32 weights, dynamic loss scaling. */
  readonly amp?: boolean;
  readonly onStep?: (epoch: number, r: StepReport, stepsPerEpoch: number) => void;
}

export interface TrainResult {
  readonly model: Module;
  readonly steps: number;
  readonly seconds: number;
  readonly losses: number[];
  readonly meanDataWaitMs: number;
  readonly meanStepMs: number;
  /** Steps whose update the loss scaler skipped (an inf/NaN gradient), among those whose loss was read. */
  readonly skippedSteps: number;
}

/** Trains with Adam through a compiled training step fed by an overlapping data loader. */
export async function train(gpu: GpuDevice, data: Digits, opts: TrainOptions): Promise<TrainResult> {
  manualSeed(opts.seed ?? 1);
  const model = opts.model();
  const all = Array.from({ length: data.count }, (_, i) => i);
  const example = makeBatch(data, all.slice(0, opts.batchSize), opts.shape);
  const opt = new optim.Adam(model.parameters(), { lr: opts.lr });
  const step = await compileTrainStep(
    model, (m, b) => crossEntropy(m.call(b.x!), b.y!), opt,
    { x: fromArray(example.x.data, example.x.shape), y: fromArray(example.y.data, example.y.shape, { dtype: 'int32' }) },
    { device: gpu, readLossEvery: opts.readLossEvery ?? 10, ...(opts.amp ? { autocast: 'float16', gradScaler: new amp.GradScaler() } : {}) },
  );
  const stepsPerEpoch = Math.floor(data.count / opts.batchSize);
  const rng = new Random(opts.seed ?? 1);
  const losses: number[] = [];
  let steps = 0;
  let waited = 0;
  let stepMs = 0;
  let skipped = 0;
  const t0 = performance.now();
  try {
    for (let epoch = 0; epoch < opts.epochs && steps < (opts.maxSteps ?? Infinity); epoch++) {
      const order = permutation(data.count, rng);
      const n = Math.min(stepsPerEpoch, (opts.maxSteps ?? Infinity) - steps);
      // The learning rate is an input of the compiled step: changing it needs no recompilation.
      opt.lr = opts.lr * (1 - (1 - (opts.finalLrFraction ?? 1)) * (epoch / Math.max(1, opts.epochs - 1)));
      const augment = opts.shift ? { shift: opts.shift, rng } : undefined;
      // Each item of this dataset is a whole batch (drawn from one permutation), so the loader does not batch again.
      const batches = { length: n, get: (i: number) => makeBatch(data, order.slice(i * opts.batchSize, (i + 1) * opts.batchSize), opts.shape, augment) };
      const loader = new DataLoader(batches, { batchSize: null });
      await trainLoop(step, loader, {
        onStep: (r) => {
          if (r.loss !== undefined) losses.push(r.loss);
          if (r.skipped) skipped++;
          // The first step of an epoch waits for a batch nothing could overlap with.
          if (r.index > 0) { waited += r.dataWaitMs; stepMs += r.stepMs; }
          opts.onStep?.(epoch, r, stepsPerEpoch);
        },
      });
      steps += n;
    }
    await step.syncToModel();
  } finally {
    step.destroy();
  }
  const counted = Math.max(1, steps - opts.epochs);
  return { model, steps, seconds: (performance.now() - t0) / 1000, losses, meanDataWaitMs: waited / counted, meanStepMs: stepMs / counted, skippedSteps: skipped };
}

/** Accuracy of `model` on `data`, with the model traced and compiled for inference batches. */
export async function accuracy(gpu: GpuDevice, model: Module, data: Digits, shape: 'flat' | 'image', batchSize = 500): Promise<number> {
  const all = Array.from({ length: data.count }, (_, i) => i);
  const first = makeBatch(data, all.slice(0, batchSize), shape);
  // Traced in eval mode: batch norm uses its running statistics and dropout is the identity.
  const wasTraining = model.training;
  model.eval();
  const session = await Session.create(gpu, compile(trace(model, [fromArray(first.x.data, first.x.shape) as Tensor], { name: 'eval' })));
  let correct = 0;
  let seen = 0;
  try {
    for (let at = 0; at + batchSize <= data.count; at += batchSize) {
      const b = makeBatch(data, all.slice(at, at + batchSize), shape);
      const logits = (await session.run({ x: b.x })).y!.data as Float32Array;
      for (let k = 0; k < batchSize; k++) {
        let best = 0;
        for (let c = 1; c < 10; c++) if (logits[k * 10 + c]! > logits[k * 10 + best]!) best = c;
        if (best === b.y.data[k]) correct++;
      }
      seen += batchSize;
    }
  } finally {
    session.destroy();
    model.train(wasTraining);
  }
  return correct / seen;
}
