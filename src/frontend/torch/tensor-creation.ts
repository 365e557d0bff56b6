import { KilnError } from '../../ir/errors.js';
import { numel, type Shape } from '../../ir/types.js';
import type { DeviceLike } from './devices.js';
import { checkNarrowedInt64, parseDType, type DTypeLike } from './dtype.js';
import { hostTensorData } from './host-values.js';
import { defaultRandom, type Random } from './random.js';
import { Tensor } from './tensor-core.js';

// Creating tensors: from nested arrays or flat values, random, filled, ranges.

/** Options of the tensor factories: `kiln.tensor(data, { dtype, device })`. */
export interface TensorOptions {
  dtype?: DTypeLike;
  device?: DeviceLike;
  /** Whether the tensor is a leaf that gradients flow to (floating point only). */
  requiresGrad?: boolean;
}

function fromValues(values: ArrayLike<number>, shape: Shape, opts: TensorOptions): Tensor {
  const dtype = parseDType(opts.dtype ?? 'f32');
  checkNarrowedInt64(opts.dtype ?? 'f32', values, 'tensor');
  const t = Tensor.fromData(hostTensorData(dtype, shape, values), opts.device ?? 'cpu');
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

/** Nested number arrays to a flat list and a shape. */
function flattenNested(data: unknown): { values: number[]; shape: number[] } {
  const shape: number[] = [];
  let probe = data;
  while (Array.isArray(probe)) { shape.push(probe.length); probe = probe[0]; }
  const values: number[] = [];
  const walk = (x: unknown, dim: number) => {
    if (dim === shape.length) {
      if (typeof x !== 'number' && typeof x !== 'boolean') throw new KilnError(`tensor data must be numbers, got ${typeof x}`);
      values.push(Number(x));
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[dim]) throw new KilnError(`tensor data is ragged at dimension ${dim} (expected length ${shape[dim]})`);
    for (const e of x) walk(e, dim + 1);
  };
  walk(data, 0);
  return { values, shape };
}

/** `kiln.tensor([[1, 2], [3, 4]], { dtype: 'float32', device: 'cpu' })` */
export function tensor(data: unknown, opts: TensorOptions = {}): Tensor {
  const { values, shape } = flattenNested(data);
  return fromValues(values, shape, opts);
}

/** A tensor from a flat array and a shape. */
export function fromArray(values: ArrayLike<number>, shape: Shape, opts: TensorOptions = {}): Tensor {
  hostNumel(shape, 'fromArray');
  return fromValues(values, shape, opts);
}

/** Most elements a host tensor may hold: JavaScript arrays and typed arrays stop near 2^32. */
const MAX_HOST_ELEMENTS = 2 ** 31 - 1;

/** The element count of a shape given by a user, after checking it is one (PyTorch's message). */
function hostNumel(shape: Shape, fn: string): number {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new KilnError(`${fn}: shape ${JSON.stringify(shape)} must be a list of non-negative integers`);
  }
  const n = numel(shape);
  if (n > MAX_HOST_ELEMENTS) throw new KilnError(`${fn}: shape [${shape.join(', ')}] has ${n} elements, more than a host tensor can hold (${MAX_HOST_ELEMENTS})`);
  return n;
}

/**
 * `draw()` for each element of `shape`, into a typed array: f32 where the tensor is f32 (the
 * values it would be rounded to anyway), else f64. A JavaScript array of a large layer's weights
 * (100 million numbers) would take gigabytes and minutes.
 */
function drawn(shape: Shape, fn: string, opts: TensorOptions, draw: () => number): ArrayLike<number> {
  const n = hostNumel(shape, fn);
  const out = parseDType(opts.dtype ?? 'f32') === 'f32' ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = draw();
  return out;
}

/** Standard-normal values, from `rng` or the default generator. */
export function randn(shape: Shape, opts: TensorOptions & { rng?: Random } = {}): Tensor {
  const rng = opts.rng ?? defaultRandom.current;
  return fromValues(drawn(shape, 'randn', opts, () => rng.normal()), shape, opts);
}

/** Uniform values in [lo, hi). */
export function rand(shape: Shape, lo = 0, hi = 1, opts: TensorOptions & { rng?: Random } = {}): Tensor {
  const rng = opts.rng ?? defaultRandom.current;
  return fromValues(drawn(shape, 'rand', opts, () => rng.uniform(lo, hi)), shape, opts);
}

/** A tensor filled with `value`. */
export function full(shape: Shape, value: number, opts: TensorOptions = {}): Tensor {
  return fromValues(new Array<number>(hostNumel(shape, 'full')).fill(value), shape, opts);
}

export function zeros(shape: Shape, opts: TensorOptions = {}): Tensor {
  return full(shape, 0, opts);
}

export function ones(shape: Shape, opts: TensorOptions = {}): Tensor {
  return full(shape, 1, opts);
}

/** start, start + step, ... below end, like torch.arange (i32 for integer arguments by default). */
export function arange(start: number, end?: number, step = 1, opts: TensorOptions = {}): Tensor {
  const [lo, hi] = end === undefined ? [0, start] : [start, end];
  if (step === 0) throw new KilnError('arange: step must be nonzero');
  const values: number[] = [];
  for (let v = lo; step > 0 ? v < hi : v > hi; v += step) values.push(v);
  const ints = [lo, hi, step].every(Number.isInteger);
  return fromValues(values, [values.length], { ...opts, dtype: opts.dtype ?? (ints ? 'i32' : 'f32') });
}

/** `steps` values from start to end, evenly spaced, as torch.linspace (each half counted from its own end, as PyTorch does). */
export function linspace(start: number, end: number, steps: number, opts: TensorOptions = {}): Tensor {
  if (!Number.isInteger(steps) || steps < 0) throw new KilnError(`linspace: steps must be a non-negative integer, got ${steps}`);
  const step = steps > 1 ? (end - start) / (steps - 1) : 0;
  const values = Array.from({ length: steps }, (_, i) => (i < steps / 2 ? start + i * step : end - (steps - 1 - i) * step));
  return fromValues(values, [steps], opts);
}

/** The n x m identity (m defaults to n), as torch.eye. */
export function eye(n: number, m = n, opts: TensorOptions = {}): Tensor {
  const values = new Array<number>(hostNumel([n, m], 'eye')).fill(0);
  for (let i = 0; i < Math.min(n, m); i++) values[i * m + i] = 1;
  return fromValues(values, [n, m], opts);
}

/** A tensor of `like`'s shape, dtype and device filled with `value`, as torch.full_like (options override). */
export function fullLike(like: Tensor, value: number, opts: TensorOptions = {}): Tensor {
  return full(like.shape, value, { dtype: like.dtype, device: like.device, ...opts });
}

export function zerosLike(like: Tensor, opts: TensorOptions = {}): Tensor {
  return fullLike(like, 0, opts);
}

export function onesLike(like: Tensor, opts: TensorOptions = {}): Tensor {
  return fullLike(like, 1, opts);
}

/** Integers uniform in [low, high), as torch.randint (int32, kiln's int64). */
export function randint(low: number, high: number, shape: Shape, opts: TensorOptions & { rng?: Random } = {}): Tensor {
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) throw new KilnError(`randint: needs integers low < high, got ${low} and ${high}`);
  const rng = opts.rng ?? defaultRandom.current;
  return fromValues(drawn(shape, 'randint', opts, () => low + Math.min(high - low - 1, Math.floor(rng.uniform(0, high - low)))), shape, { ...opts, dtype: opts.dtype ?? 'i32' });
}

/** A random permutation of 0..n-1, as torch.randperm (int32). */
export function randperm(n: number, opts: TensorOptions & { rng?: Random } = {}): Tensor {
  if (!Number.isInteger(n) || n < 0) throw new KilnError(`randperm: n must be a non-negative integer, got ${n}`);
  const rng = opts.rng ?? defaultRandom.current;
  const p = Array.from({ length: n }, (_, i) => i);
  // Fisher-Yates, from the last position down.
  for (let i = n - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(rng.uniform(0, i + 1)));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return fromValues(p, [n], { ...opts, dtype: opts.dtype ?? 'i32' });
}
