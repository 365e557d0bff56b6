// Trains a small GPT-style character language model on the Book of Genesis on WebGPU:
//   npm run train-charlm                      # the default run
//   npm run train-charlm -- --steps N --batch N --lr X
// It prints progress, then the validation loss against the unigram baseline, and samples.
import { webgpu } from '../../src/index.js';
import { readCorpus, TEXT_FILE, unigramEntropy } from './data.js';
import { evaluate, sample, trainCharLm, type CharLmTrainOptions } from './train.js';

const args = process.argv.slice(2);
const arg = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};

const defaults: Omit<CharLmTrainOptions, 'onStep'> = {
  model: { context: 64, layers: 2, heads: 4, dim: 128 },
  steps: 300, batchSize: 16, lr: 4e-3, warmupSteps: 20, minLrFraction: 0.1, weightDecay: 0.1, maxGradNorm: 1,
};
const opts = {
  ...defaults,
  steps: Number(arg('steps') ?? defaults.steps),
  batchSize: Number(arg('batch') ?? defaults.batchSize),
  lr: Number(arg('lr') ?? defaults.lr),
};

const gpu = await webgpu.device();
try {
  console.log(`adapter: ${gpu.describe()}`);
  const data = readCorpus();
  const baseline = unigramEntropy(data.train, data.chars.length);
  console.log(`text: ${TEXT_FILE.split('/').at(-1)}, ${data.chars.length} distinct characters, ${data.train.length} for training, ${data.val.length} held out`);
  console.log(`model: ${opts.model.layers} layers, ${opts.model.heads} heads, width ${opts.model.dim}, context ${opts.model.context}; ` +
    `${opts.steps} steps of ${opts.batchSize} x ${opts.model.context} characters, AdamW, peak lr ${opts.lr}`);
  const tokens = opts.batchSize * opts.model.context;
  let started = 0;
  const r = await trainCharLm(gpu, data, {
    ...opts,
    onStep: (i, s) => {
      if (i === 0) started = performance.now();
      if (s.loss === undefined) return;
      // Throughput from the second step on: the first waits for the device's pipelines.
      const secs = (performance.now() - started) / 1000;
      const rate = i > 0 ? `${((i * tokens) / secs).toFixed(0)} tokens/s` : '';
      console.log(`step ${String(i + 1).padStart(4)}/${opts.steps}  loss ${s.loss.toFixed(4)}  grad norm ${s.gradNorm!.toFixed(2)}  lr ${s.lr.toExponential(2)}  ${rate}`);
    },
  });
  console.log(`trained ${r.steps} steps in ${r.seconds.toFixed(1)} s (${((r.steps * tokens) / r.seconds).toFixed(0)} tokens/s)`);
  const val = await evaluate(gpu, r.model, data.val);
  const target = baseline - 1;
  console.log(`validation loss ${val.toFixed(4)} nats/char; unigram baseline (entropy of the training text's characters) ${baseline.toFixed(4)} nats; ` +
    `${val < target ? 'below' : 'NOT below'} baseline - 1 nat = ${target.toFixed(4)}`);
  console.log('samples (temperature 0.8), each a verse after a newline:');
  for (const line of await sample(gpu, r.model, data, { count: 4, prompt: '\n', maxChars: 160, temperature: 0.8 })) console.log(`  ${line}`);
  if (val >= target) process.exitCode = 1;
} finally {
  webgpu.shutdown();
}
