import type { Graph } from '../../src/ir/graph.js';
import { parseGraph } from '../../src/ir/parser.js';
import { Random } from '../../src/frontend/torch/random.js';

/**
 * A recurrence step, n = tanh(h W + x) over [2, 8] (W drawn from `seed`), whose output n feeds
 * the next step as its input h; with `product`, a second output d = n * x.
 */
export function recurrenceStep(seed: number, product = false): Graph {
  const rng = new Random(seed);
  const w = Array.from({ length: 64 }, () => (rng.normal() / 4).toFixed(4)).join(', ');
  const t = 'f32[2,8] @webgpu';
  return parseGraph(`graph step(%h: ${t}, %x: ${t}) -> (${product ? `${t}, ${t}` : t}) {
  %w = const() {value = [${w}]} : f32[8,8] @webgpu
  %m = matmul(%h, %w) : ${t}
  %s = add(%m, %x) : ${t}
  %n = tanh(%s) : ${t}
${product ? `  %d = mul(%n, %x) : ${t}\n  return %n, %d` : '  return %n'}
}
`);
}
