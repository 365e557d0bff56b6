import type { Shape } from '../../../ir/types.js';
import { defaultRandom } from '../random.js';
import { rand, randn, type Tensor } from '../tensor.js';

// Initial weights drawn like PyTorch's defaults, from the default generator (`manualSeed`).

/** Uniform in ±1/sqrt(fanIn): PyTorch's kaiming_uniform(a=sqrt(5)) for weights and its bias rule. */
export function uniformFanIn(shape: Shape, fanIn: number): Tensor {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return rand(shape, -bound, bound, { rng: defaultRandom.current });
}

/** Standard normal (PyTorch's Embedding init). */
export function normal(shape: Shape): Tensor {
  return randn(shape, { rng: defaultRandom.current });
}

/** Uniform in ±sqrt(6 / (fanIn + fanOut)) for a [out, in] weight: PyTorch's xavier_uniform_. */
export function xavierUniform(shape: readonly [number, number]): Tensor {
  const bound = Math.sqrt(6 / (shape[0] + shape[1]));
  return rand(shape, -bound, bound, { rng: defaultRandom.current });
}
