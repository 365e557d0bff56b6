// How much DataLoader worker threads save when preparing a batch costs more than a training step:
//   npm run data-workers -- [--ratio 3] [--steps 40] [--workers 2]
// It times a small model's compiled training step with its batch ready (B), calibrates the
// dataset's CPU-heavy augmentation so that one batch costs about `ratio` steps of host work, then
// trains with numWorkers 0 and N and prints per step: the wall time W, the device's idle time
// (W - B: the time the device had no step to run), and the time trainLoop waited for a batch. It
// checks that both runs saw the same batches (identical losses).
//
// On the main thread, a synchronous transform blocks the thread that submits the steps, so the
// device idles while the next batch is prepared even though trainLoop never "waits" for it; with
// workers, the main thread only submits steps and receives batches. On a software adapter
// (lavapipe) the device's kernels run on the same CPU cores as the workers: the gain is bounded
// by the cores left free.
import { availableParallelism, loadavg } from 'node:os';
import * as kiln from '../../src/index.js';
import { AugmentedImages, augmentedImages } from './dataset.js';

const { nn, optim } = kiln;
const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const ratio = arg('ratio', 3);
const steps = arg('steps', 40);
const workers = arg('workers', 2);
const batchSize = 64;

const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const gpu = await kiln.webgpu.device();
try {
  console.log(`adapter: ${gpu.describe()}; ${availableParallelism()} cores, load average ${loadavg()[0]!.toFixed(2)} (shared machine: figures vary run to run)`);

  const makeStep = async () => {
    kiln.manualSeed(0);
    const model = new nn.Sequential(new nn.Linear(784, 256), new nn.ReLU(), new nn.Linear(256, 10));
    const example = { x: kiln.zeros([batchSize, 784]), y: kiln.zeros([batchSize], { dtype: 'int32' }) };
    return kiln.compileTrainStep(model, (m, b) => kiln.crossEntropy(m.call(b.x!), b.y!), new optim.SGD(model.parameters(), { lr: 0.05 }), example, { device: gpu, readLossEvery: 1 });
  };

  // The step time with its batch ready: the same batch (uploaded each time), run back to back.
  const probe = await makeStep();
  const fixed = kiln.data.defaultCollate(Array.from({ length: batchSize }, (_, i) => new AugmentedImages(batchSize, 0).get(i)));
  for (let i = 0; i < 5; i++) await probe.run(fixed);
  const stepTimes: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    await probe.run(fixed);
    stepTimes.push(performance.now() - t0);
  }
  probe.destroy();
  const stepMs = median(stepTimes);

  // Host work per batch: blur passes calibrated to `ratio` times the step.
  const batchCost = (passes: number) => {
    const ds = new AugmentedImages(batchSize, passes);
    const times = Array.from({ length: 5 }, () => {
      const t0 = performance.now();
      kiln.data.defaultCollate(Array.from({ length: batchSize }, (_, i) => ds.get(i)));
      return performance.now() - t0;
    });
    return median(times);
  };
  batchCost(10); // warm the JIT
  const base = batchCost(0);
  const perPass = (batchCost(20) - base) / 20;
  let passes = Math.max(0, Math.round((ratio * stepMs - base) / perPass));
  // One correction with the cost measured at that setting (timings drift on a busy machine).
  passes = Math.max(0, Math.round(passes * (ratio * stepMs) / batchCost(passes)));
  const hostMs = batchCost(passes);
  console.log(`training step (batch ready): ${stepMs.toFixed(2)} ms; host work per batch: ${hostMs.toFixed(2)} ms (${passes} blur passes, ${(hostMs / stepMs).toFixed(1)}x the step)`);

  const length = batchSize * steps;
  const run = async (numWorkers: number) => {
    const step = await makeStep();
    const loader = new kiln.data.DataLoader(new AugmentedImages(length, passes), {
      batchSize, shuffle: true, generator: new kiln.Random(1), numWorkers,
      ...(numWorkers > 0 ? { workerDataset: { module: new URL('./dataset.js', import.meta.url), export: augmentedImages.name, args: [length, passes] } } : {}),
    });
    try {
      const started = performance.now();
      const reports = await kiln.trainLoop(step, loader);
      const seconds = (performance.now() - started) / 1000;
      // The first step waits for the pipeline to fill (and workers to start): steady state is after it.
      const steady = reports.slice(1);
      const wall = mean(steady.map((r) => r.stepMs));
      return { seconds, wall, idle: Math.max(0, wall - stepMs), wait: mean(steady.map((r) => r.dataWaitMs)), first: reports[0]!.stepMs, losses: reports.map((r) => r.loss!) };
    } finally {
      step.destroy();
    }
  };

  const rows: ({ n: number } & Awaited<ReturnType<typeof run>>)[] = [];
  for (const n of [0, workers]) {
    const r = await run(n);
    rows.push({ n, ...r });
    console.log(
      `numWorkers ${n}: ${steps} steps in ${r.seconds.toFixed(2)} s; per step after the first: ${r.wall.toFixed(1)} ms wall, ` +
      `device idle ${r.idle.toFixed(1)} ms (${((100 * r.idle) / r.wall).toFixed(0)}%), waited for the batch ${r.wait.toFixed(1)} ms; ` +
      `first step ${r.first.toFixed(0)} ms (workers starting)`,
    );
  }
  const same = rows[0]!.losses.every((l, i) => l === rows[1]!.losses[i]);
  console.log(`losses identical with numWorkers 0 and ${workers}: ${same} (final loss ${rows[0]!.losses.at(-1)!.toFixed(4)})`);
  if (!same) process.exitCode = 1;
} finally {
  kiln.webgpu.shutdown();
}
