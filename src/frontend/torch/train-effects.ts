import { KilnError } from '../../ir/errors.js';
import type { TensorData } from '../../ir/tensor-data.js';
import { numel, type DType, type Shape } from '../../ir/types.js';
import { hostTensorData } from './host-values.js';
import { defaultRandom, type Random } from './random.js';
import { Tensor } from './tensor.js';

// What training-mode layers do besides computing their output: BatchNorm updates its running
// statistics (a side effect on buffers) and Dropout draws a random mask. Eagerly both happen at
// once; inside a compiled training step, traced once and run many times, a buffer becomes
// persistent state updated by every run, and a mask becomes an input drawn afresh for every run.

/** A buffer a traced step updates: `input` holds its current value, `value` its next. */
export interface BufferUpdate {
  readonly buffer: Tensor;
  readonly path: string;
  readonly input: string;
  readonly value: Tensor;
}

/** A dropout mask a traced step takes as an input, drawn anew for every run. */
export interface MaskInput {
  readonly input: string;
  readonly dtype: DType;
  readonly shape: Shape;
  readonly p: number;
}

/** What the trace of a training step collects; set by compileTrainStep while it traces. */
export interface TrainEffects {
  /** Dotted path of each buffer of the traced model. */
  readonly bufferPaths: ReadonlyMap<Tensor, string>;
  readonly bufferUpdates: BufferUpdate[];
  readonly masks: MaskInput[];
}

/** @internal The effects of the training step being traced, if any. */
export const trainEffects: { current: TrainEffects | undefined } = { current: undefined };

/** The graph input of buffer `path` in a traced step, and of mask `k`. */
export const bufferInput = (path: string) => `buffer.${path}`;
const maskInput = (k: number) => `dropout.${k}`;

/**
 * Replaces `buffer`'s value with `next(current)`, outside autograd. `like` is a tensor of the
 * computation (eager, or symbolic in a trace): in a traced training step the buffer becomes a
 * graph input and its next value an update the step applies after every run.
 */
export function updateBuffer(buffer: Tensor, like: Tensor, next: (current: Tensor) => Tensor): void {
  const g = like.traceGraph;
  if (!g) {
    buffer.setData(next(buffer).detach());
    return;
  }
  const fx = trainEffects.current;
  const path = fx?.bufferPaths.get(buffer);
  if (!fx || path === undefined) {
    throw new KilnError('a training-mode layer updates its running statistics, which only compileTrainStep can trace; call model.eval() before tracing for inference');
  }
  // A module called twice in one step updates its statistics twice, as eagerly: the second
  // update starts from the first one's value.
  const i = fx.bufferUpdates.findIndex((u) => u.buffer === buffer);
  const earlier = fx.bufferUpdates[i];
  const input = bufferInput(path);
  if (earlier) {
    fx.bufferUpdates[i] = { ...earlier, value: next(earlier.value) };
    return;
  }
  const current = Tensor.symbolic(g, g.addInput(input, { dtype: buffer.dtype, shape: buffer.shape, device: 'webgpu' }), like);
  fx.bufferUpdates.push({ buffer, path, input, value: next(current) });
}

/**
 * Dropout's mask for `x`: 0 with probability `p`, else 1 / (1 - p), drawn from `rng` (kiln's
 * default generator unless given). In a traced training step, a graph input filled per run.
 */
export function dropoutMask(x: Tensor, p: number, rng?: Random): Tensor {
  const g = x.traceGraph;
  if (!g) return x.constantLike(drawMask(x.dtype, x.shape, p, rng ?? defaultRandom.current));
  const fx = trainEffects.current;
  if (!fx) throw new KilnError('dropout in training mode draws a new mask per run, which only compileTrainStep can trace; call model.eval() before tracing for inference');
  if (rng) throw new KilnError('dropout in a compiled training step draws from kiln\'s default generator (manualSeed); a generator of its own cannot be traced');
  const input = maskInput(fx.masks.length);
  fx.masks.push({ input, dtype: x.dtype, shape: x.shape, p });
  return Tensor.symbolic(g, g.addInput(input, { dtype: x.dtype, shape: x.shape, device: 'webgpu' }), x);
}

/** A mask's values: each element independently 0 (probability p) or 1 / (1 - p). */
export function drawMask(dtype: DType, shape: Shape, p: number, rng: Random): TensorData {
  const scale = 1 / (1 - p);
  const values = new Array<number>(numel(shape));
  for (let i = 0; i < values.length; i++) values[i] = rng.next() < p ? 0 : scale;
  return hostTensorData(dtype, shape, values);
}
