// Training, evaluation and sampling of the character model, shared by the command line and its test.
import {
  compile, compileTrainStep, crossEntropy, fromArray, manualSeed, optim, Random, Session, trace,
  type GpuDevice, type Tensor,
} from '../../src/index.js';
import { randomBatch, windows, type Corpus } from './data.js';
import { CharLm, type CharLmConfig } from './model.js';

export interface CharLmTrainOptions {
  /** The model's shape, less its vocabulary (the corpus's characters). */
  readonly model: Omit<CharLmConfig, 'vocab'>;
  readonly steps: number;
  readonly batchSize: number;
  /** Peak learning rate, reached after `warmupSteps` of linear warm-up, then decayed along a cosine. */
  readonly lr: number;
  readonly warmupSteps: number;
  /** Where the cosine ends, as a fraction of `lr`. */
  readonly minLrFraction: number;
  /** AdamW's decoupled weight decay, for the matrices (biases, layer norms and embeddings get none). */
  readonly weightDecay: number;
  /** Gradient clipping: the largest joint 2-norm of the gradients. */
  readonly maxGradNorm: number;
  readonly seed?: number;
  /** Read the loss back every N steps (default 10). */
  readonly readLossEvery?: number;
  readonly onStep?: (step: number, r: { loss?: number; gradNorm?: number; lr: number }) => void;
}

export interface CharLmTrainResult {
  readonly model: CharLm;
  readonly steps: number;
  readonly seconds: number;
  /** Losses read back, as [step, loss]. */
  readonly losses: [number, number][];
}

/** The learning-rate factor at `step`: linear warm-up from 1/warmup to 1, then a cosine down to `min`. */
export function warmupCosine(step: number, warmup: number, total: number, min: number): number {
  if (step < warmup) return (step + 1) / warmup;
  const t = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
  return min + (1 - min) * 0.5 * (1 + Math.cos(Math.PI * t));
}

/** Mean cross-entropy of next-character logits [B, T, V] against targets [B, T]. */
export function lmLoss(logits: Tensor, targets: Tensor): Tensor {
  const [b, t, v] = logits.shape as [number, number, number];
  return crossEntropy(logits.reshape(b * t, v), targets.reshape(b * t));
}

/** Trains with AdamW through a compiled training step: one submit per step, parameters on the device. */
export async function trainCharLm(gpu: GpuDevice, data: Corpus, opts: CharLmTrainOptions): Promise<CharLmTrainResult> {
  manualSeed(opts.seed ?? 1);
  const config: CharLmConfig = { ...opts.model, vocab: data.chars.length };
  const model = new CharLm(config);
  // Weight decay for the matrices of the linear layers only, as GPT-2 trainings do.
  const named = model.namedParameters();
  const decayed = named.filter(([name, p]) => p.shape.length === 2 && !name.startsWith('tokens.') && !name.startsWith('positions.'));
  const rest = named.filter(([, p]) => !decayed.some(([, q]) => q === p));
  const opt = new optim.AdamW([
    { params: decayed.map(([, p]) => p), weightDecay: opts.weightDecay },
    { params: rest.map(([, p]) => p), weightDecay: 0 },
  ], { lr: opts.lr, betas: [0.9, 0.99] });
  const schedule = new optim.lrScheduler.LambdaLR(opt, (s) => warmupCosine(s, opts.warmupSteps, opts.steps, opts.minLrFraction));
  const rng = new Random(opts.seed ?? 1);
  const example = randomBatch(data.train, opts.batchSize, config.context, rng);
  const step = await compileTrainStep(model, (m, b) => lmLoss(m.call(b.x!), b.y!), opt, example, {
    device: gpu, readLossEvery: opts.readLossEvery ?? 10, maxGradNorm: opts.maxGradNorm,
  });
  const losses: [number, number][] = [];
  const t0 = performance.now();
  try {
    // The next batch is uploaded into the step's second input slot while the device runs this
    // one. Staging also fixes a step's learning rate, so the schedule advances before it.
    let next = step.stage(randomBatch(data.train, opts.batchSize, config.context, rng));
    for (let i = 0; i < opts.steps; i++) {
      const lr = opt.paramGroups[0]!.lr;
      const running = step.run(next);
      schedule.step();
      if (i + 1 < opts.steps) next = step.stage(randomBatch(data.train, opts.batchSize, config.context, rng));
      const r = await running;
      if (r.loss !== undefined) losses.push([i, r.loss]);
      opts.onStep?.(i, { ...r, lr });
    }
    await step.syncToModel();
  } finally {
    step.destroy();
  }
  return { model, steps: opts.steps, seconds: (performance.now() - t0) / 1000, losses };
}

/** The model traced and compiled for batches of `batch` windows of its full context. */
async function inferenceSession(gpu: GpuDevice, model: CharLm, batch: number): Promise<Session> {
  const x = fromArray(new Int32Array(batch * model.config.context), [batch, model.config.context], { dtype: 'int32' });
  return Session.create(gpu, compile(trace(model, [x], { name: 'charlm' })));
}

/**
 * Mean loss in nats per character over every position of the non-overlapping windows of `ids`
 * (each position predicted from the characters before it in its window), in float64 on the host.
 */
export async function evaluate(gpu: GpuDevice, model: CharLm, ids: Int32Array, batch = 32): Promise<number> {
  const { context: t, vocab: v } = model.config;
  const starts: number[] = [];
  for (let s = 0; s + t + 1 <= ids.length; s += t) starts.push(s);
  const session = await inferenceSession(gpu, model, batch);
  let total = 0;
  let count = 0;
  try {
    for (let at = 0; at < starts.length; at += batch) {
      const chunk = starts.slice(at, at + batch);
      const padded = [...chunk, ...new Array<number>(batch - chunk.length).fill(0)];
      const w = windows(ids, padded, t);
      const logits = (await session.run({ x: w.x.data })).y!.data as Float32Array;
      const targets = w.y.data.data as Int32Array;
      for (let r = 0; r < chunk.length * t; r++) {
        const row = logits.subarray(r * v, (r + 1) * v);
        let max = -Infinity;
        for (const z of row) max = Math.max(max, z);
        let sum = 0;
        for (const z of row) sum += Math.exp(z - max);
        total += max + Math.log(sum) - row[targets[r]!]!;
        count++;
      }
    }
  } finally {
    session.destroy();
  }
  return total / count;
}

/**
 * Samples `count` continuations of `prompt` at once, a character at a time from the softmax of
 * the logits / temperature, each until a newline or `maxChars`. The window is the last
 * `context` characters, padded on the right: causal attention makes the padding invisible.
 */
export async function sample(
  gpu: GpuDevice, model: CharLm, data: Corpus, opts: { count: number; prompt: string; maxChars: number; temperature?: number; seed?: number },
): Promise<string[]> {
  const { context: t, vocab: v } = model.config;
  const index = new Map(data.chars.map((c, i) => [c, i]));
  const newline = index.get('\n');
  const rng = new Random(opts.seed ?? 7);
  const seqs = Array.from({ length: opts.count }, () => Array.from(opts.prompt, (c) => {
    const i = index.get(c);
    if (i === undefined) throw new Error(`the prompt's '${c}' is not a character of the text`);
    return i;
  }));
  const done = new Array<boolean>(opts.count).fill(false);
  const session = await inferenceSession(gpu, model, opts.count);
  try {
    for (let n = 0; n < opts.maxChars && done.includes(false); n++) {
      const x = new Int32Array(opts.count * t);
      seqs.forEach((s, b) => x.set(s.slice(-t), b * t));
      const logits = (await session.run({ x: fromArray(x, [opts.count, t], { dtype: 'int32' }).data })).y!.data as Float32Array;
      seqs.forEach((s, b) => {
        if (done[b]) return;
        const last = Math.min(s.length, t) - 1;
        const row = logits.subarray((b * t + last) * v, (b * t + last + 1) * v);
        const c = pick(row, opts.temperature ?? 1, rng);
        s.push(c);
        if (c === newline) done[b] = true;
      });
    }
  } finally {
    session.destroy();
  }
  return seqs.map((s) => s.slice(opts.prompt.length).map((i) => data.chars[i]).join('').replace(/\n$/, ''));
}

/** An index drawn from softmax(logits / temperature). */
function pick(logits: Float32Array, temperature: number, rng: Random): number {
  let max = -Infinity;
  for (const z of logits) max = Math.max(max, z);
  const w = Array.from(logits, (z) => Math.exp((z - max) / temperature));
  let u = rng.next() * w.reduce((a, b) => a + b, 0);
  for (let i = 0; i < w.length; i++) if ((u -= w[i]!) < 0) return i;
  return w.length - 1;
}
