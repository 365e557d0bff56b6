// Trains the MNIST MLP with data parallelism over worker threads, one replica and one WebGPU
// device per thread, and compares 1 and 2 replicas (the same seed, global batch and steps):
//   npm run train-mnist-ddp                     # 1 replica, then 2
//   npm run train-mnist-ddp -- --replicas 2     # one of them; also --epochs N
import { distributed } from '../../src/index.js';
import type { DdpConfig, RankResult } from './worker.js';

const args = process.argv.slice(2);
const arg = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const replicas = arg('replicas') ? [Number(arg('replicas'))] : [1, 2];
if (!replicas.every((n) => Number.isInteger(n) && n >= 1)) {
  console.error(`--replicas must be a positive integer, got '${arg('replicas')}'`);
  process.exit(2);
}
const config: DdpConfig = { epochs: Number(arg('epochs') ?? 12), globalBatch: 64, lr: 1e-3, finalLrFraction: 0.1, seed: 1 };
// The worker module next to this one (worker.ts from source, worker.js once built).
const worker = new URL(`./worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

for (const worldSize of replicas) {
  const started = performance.now();
  const results = await distributed.spawn<RankResult, DdpConfig>(worker, { worldSize, data: config });
  const r0 = results[0]!;
  const stepMs = Math.max(...results.map((r) => r.meanStepMs));
  console.log(
    `${worldSize} replica(s) on ${r0.adapter}: ${r0.steps} steps of ${config.globalBatch} images ` +
    `(${config.globalBatch / worldSize} per replica) in ${((performance.now() - started) / 1000).toFixed(1)} s, ` +
    `${stepMs.toFixed(1)} ms/step (all-reduce ${Math.max(...results.map((r) => r.meanAllReduceMs)).toFixed(1)} ms); final loss ${r0.losses.at(-1)!.toFixed(4)}; ` +
    `test accuracy ${(r0.accuracy! * 100).toFixed(2)}% on 2000 held-out digits`,
  );
}
