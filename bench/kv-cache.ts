// Decoding steps whose KV caches are outputs fed back as the next step's inputs: read back and
// uploaded again each token (through the host), against kept on the device (RunOptions.keep).
// The GPT-2-small-sized decoder of the bench (bench/models/decoder-step.ts), its caches grown a
// token a step from each starting length, one program for every length; the two ways alternate
// within one process, and their outputs are compared.
//   node dist/bench/kv-cache.js [--cached 128,896] [--steps 12] [--rounds 3] [--layers 12]
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { compile } from '../src/compiler.js';
import { kernelTarget } from '../src/precision.js';
import { acquireDevice } from '../src/runtime/device.js';
import { DeviceTensor } from '../src/runtime/device-tensor.js';
import { Session } from '../src/runtime/session.js';
import { tensorData, type TensorData } from '../src/ir/tensor-data.js';
import { Random } from '../src/frontend/torch/random.js';
import { DECODER, cacheNames, decoderStepGraph } from './models/decoder-step.js';

const { values } = parseArgs({ options: { cached: { type: 'string', default: '128,896' }, steps: { type: 'string', default: '12' }, rounds: { type: 'string', default: '3' }, layers: { type: 'string', default: String(DECODER.layers) } } });
const starts = values.cached!.split(',').map(Number);
const steps = Number(values.steps);
const config = { ...DECODER, layers: Number(values.layers) };
const hd = config.dim / config.heads;
const longest = Math.max(...starts) + steps;
const past = cacheNames('past', config.layers);
const present = cacheNames('present', config.layers);

const gpu = await acquireDevice();
console.log(gpu.describe(), `load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const graph = decoderStepGraph(config, `1<=T<=${2 ** Math.ceil(Math.log2(longest))}`, true);
const session = await Session.create(gpu, compile(graph, kernelTarget(gpu.info, gpu.features)));
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** `steps` tokens from a cache of `start` drawn from `seed`: ms per token (the first two left out: warm-up), and the last output. */
async function decode(start: number, keep: boolean, seed: number): Promise<{ ms: number; y: TensorData }> {
  const rng = new Random(seed);
  const random = (shape: number[]) => tensorData('f32', shape, Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()));
  const x = random([1, 1, config.dim]);
  let cache: Record<string, TensorData | DeviceTensor> = Object.fromEntries(past.map((n) => [n, random([1, config.heads, start, hd])]));
  const times: number[] = [];
  let y: TensorData | undefined;
  for (let s = 0; s < steps; s++) {
    const t0 = performance.now();
    const out = await session.run({ x, ...cache }, keep ? { keep: present } : {});
    times.push(performance.now() - t0);
    for (const t of Object.values(cache)) if (t instanceof DeviceTensor) t.destroy();
    cache = Object.fromEntries(past.map((n, i) => [n, out[present[i]!]!]));
    y = out['y'] as TensorData;
  }
  for (const t of Object.values(cache)) if (t instanceof DeviceTensor) t.destroy();
  return { ms: median(times.slice(2)), y: y! };
}

for (const start of starts) {
  const host: number[] = [];
  const kept: number[] = [];
  let diff = 0;
  for (let r = 0; r < Number(values.rounds); r++) {
    // The same draws for both ways: one seed a round.
    const a = await decode(start, false, r + 1);
    const b = await decode(start, true, r + 1);
    host.push(a.ms);
    kept.push(b.ms);
    const [ya, yb] = [a.y.data, b.y.data] as Float32Array[];
    diff = ya!.reduce((m, v, i) => Math.max(m, Math.abs(v - yb![i]!)), diff);
  }
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(' / ');
  console.log(`${config.layers} layers, cache ${start} -> ${start + steps}: through the host ${fmt(host)} ms a token, kept ${fmt(kept)} (per round); ` +
    `medians ${median(host).toFixed(1)} vs ${median(kept).toFixed(1)} ms, ${(median(host) / median(kept)).toFixed(2)}x; outputs differ by at most ${diff.toExponential(1)}`);
}
session.destroy();
gpu.destroy();
process.exit(0);
