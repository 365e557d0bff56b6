// One rank of data-parallel MNIST training: started by kiln.distributed.spawn (see main.ts) in a
// worker thread that owns its WebGPU device. Every rank builds the same MLP, DistributedDataParallel
// broadcasts rank 0's weights, the DistributedSampler gives each rank its share of every global
// batch, and gradients are averaged after each backward: N ranks on batches of B / N take the
// steps one device takes on batches of B.
import { crossEntropy, data, distributed, fromArray, manualSeed, optim, webgpu, type Module } from '../../src/index.js';
import { makeBatch, mnistSplit, type Digits } from '../train-mnist/data.js';
import { mlp } from '../train-mnist/models.js';
import { accuracy } from '../train-mnist/train.js';

export interface DdpConfig {
  readonly epochs: number;
  /** Images per step over all ranks; each rank takes globalBatch / worldSize. */
  readonly globalBatch: number;
  readonly lr: number;
  /** Decay the learning rate linearly to this fraction of `lr` over the epochs. */
  readonly finalLrFraction: number;
  readonly seed: number;
  /** Train on the first this many training digits (default all 8,000). */
  readonly trainCount?: number;
  /** Evaluate on the first this many test digits (default all 2,000; a multiple of 500). */
  readonly testCount?: number;
  /** Read the loss back every this many steps. */
  readonly readLossEvery?: number;
}

export interface RankResult {
  readonly rank: number;
  readonly steps: number;
  /** Mean wall time of a step after the first epoch's first 5 (which compile kernels), in ms. */
  readonly meanStepMs: number;
  /** Of that, the time spent in the gradients' all-reduce (waiting for the other ranks included), in ms. */
  readonly meanAllReduceMs: number;
  /** This rank's loss (on its share of the batch) every readLossEvery steps. */
  readonly losses: number[];
  /** Held-out accuracy, measured on rank 0 only. */
  readonly accuracy?: number;
  readonly adapter: string;
}

const head = (d: Digits, n: number): Digits => ({ images: d.images.subarray(0, n * 784), labels: d.labels.subarray(0, n), count: n });

export async function main({ rank, worldSize, data: cfg }: distributed.WorkerContext<DdpConfig>): Promise<RankResult> {
  if (cfg.globalBatch % worldSize !== 0) throw new Error(`the global batch ${cfg.globalBatch} does not divide into ${worldSize} ranks`);
  const perRank = cfg.globalBatch / worldSize;
  const gpu = await webgpu.device();
  const split = mnistSplit();
  const trainSet = head(split.train, cfg.trainCount ?? split.train.count);
  manualSeed(cfg.seed);
  const model: Module = await mlp().to('webgpu');
  // The default group, with the time its all-reduces take counted.
  const group = distributed.defaultGroup();
  let allReduceMs = 0;
  const timed: distributed.Collectives = {
    rank, worldSize, broadcast: (d, root) => group.broadcast(d, root), barrier: () => group.barrier(),
    allReduce: async (d, op) => {
      const t0 = performance.now();
      await group.allReduce(d, op);
      allReduceMs += performance.now() - t0;
    },
  };
  const ddp = await distributed.DistributedDataParallel.create(model, { group: timed });
  const opt = new optim.Adam(ddp.parameters(), { lr: cfg.lr });
  const sampler = new data.DistributedSampler({ length: trainSet.count }, { shuffle: true, seed: cfg.seed, dropLast: true });
  const losses: number[] = [];
  let steps = 0;
  let counted = 0;
  let countedMs = 0;
  let countedAllReduceMs = 0;
  for (let epoch = 0; epoch < cfg.epochs; epoch++) {
    sampler.setEpoch(epoch);
    opt.lr = cfg.lr * (1 - (1 - cfg.finalLrFraction) * (epoch / Math.max(1, cfg.epochs - 1)));
    let last = performance.now();
    for (const idx of new data.BatchSampler(sampler, perRank, true)) {
      const b = makeBatch(trainSet, idx, 'flat');
      const x = fromArray(b.x.data, b.x.shape, { device: 'webgpu' });
      const y = fromArray(b.y.data, b.y.shape, { dtype: 'int32', device: 'webgpu' });
      opt.zeroGrad();
      const loss = crossEntropy(ddp.call(x), y);
      await ddp.backward(loss);
      opt.step();
      if (steps % (cfg.readLossEvery ?? 10) === 0) losses.push(((await loss.to('cpu')).data.data as Float32Array)[0]!);
      steps++;
      const now = performance.now();
      if (epoch > 0 || steps > 5) { counted++; countedMs += now - last; countedAllReduceMs += allReduceMs; }
      allReduceMs = 0;
      last = now;
    }
  }
  await ddp.checkInSync();
  let acc: number | undefined;
  if (rank === 0) {
    await model.to('cpu');
    acc = await accuracy(gpu, model, head(split.test, cfg.testCount ?? split.test.count), 'flat');
  }
  const per = (ms: number) => ms / Math.max(1, counted);
  return { rank, steps, meanStepMs: per(countedMs), meanAllReduceMs: per(countedAllReduceMs), losses, accuracy: acc, adapter: gpu.describe() };
}
