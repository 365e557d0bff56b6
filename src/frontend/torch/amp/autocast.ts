import { KilnError } from '../../../ir/errors.js';
import { getOp, hasOp } from '../../../ir/ops/index.js';
import { isFloat, type DType } from '../../../ir/types.js';
import type { Tensor } from '../tensor-core.js';

// Autocast, as torch.amp.autocast: inside `autocast('webgpu', fn)` the ops PyTorch lists as
// "autocast to float16" (matrix products and convolutions) run in float16 on the device, those
// it lists as "autocast to float32" (reductions, softmax, norms, pow/exp/log, losses) run in
// float32, and ops mixing float dtypes run in the widest of them. Parameters stay float32 (the
// master weights): their float16 copies are casts recorded for autograd, so gradients flow back
// through the casts into float32 `.grad`s.

/** The autocast region being run: the dtype its float16 ops use, or none outside a region. */
export const autocastState: { dtype: DType | undefined } = { dtype: undefined };

/**
 * PyTorch's "CUDA ops that can autocast to float16", by kiln op name ('linear' is the
 * functional layer, whose bias is cast with its operands).
 */
const LOWER = new Set(['matmul', 'gemm', 'conv2d', 'conv_transpose2d', 'linear']);

/**
 * PyTorch's "CUDA ops that can autocast to float32", by kiln op name: ops whose float16 range or
 * precision does not suffice. kiln's batch_norm and mean join them: batch_norm takes one dtype
 * for its input and float32 parameters, and a float16 mean would accumulate in float16 ('mean'
 * is reduced in float32 in PyTorch's kernels too). Losses are the functional ones by name.
 */
const WIDEN = new Set([
  'pow', 'exp', 'log', 'rsqrt', 'softplus', 'tan', 'sinh', 'cosh', 'asin', 'acos',
  'sum', 'mean', 'prod', 'cumsum', 'cumprod', 'softmax', 'log_softmax', 'layer_norm', 'batch_norm',
  'cross_entropy', 'nll_loss', 'mse_loss', 'l1_loss', 'smooth_l1_loss', 'huber_loss', 'binary_cross_entropy',
  'binary_cross_entropy_with_logits', 'kl_div',
]);

/** The autocast category of an op (with tensors of float dtypes mixed, others take the widest). */
function categoryOf(op: string): 'lower' | 'widen' | 'promote' | undefined {
  if (LOWER.has(op)) return 'lower';
  if (WIDEN.has(op)) return 'widen';
  // PyTorch promotes mixed float operands to the widest; kiln's ops take one dtype, so autocast does it.
  if (op === 'concat' || (hasOp(op) && getOp(op).kind === 'elementwise' && op !== 'cast')) return 'promote';
  return undefined;
}

/**
 * The operands `op` takes under the current autocast region: its float tensors on a WebGPU
 * device (`onDevice`) cast as the op's category says (`cast` converts one), or the operands
 * themselves outside a region, on the CPU (autocast('webgpu') leaves CPU tensors alone, as
 * PyTorch's per-device autocast) and for ops autocast leaves alone.
 */
export function autocastOperands(
  op: string, inputs: readonly Tensor[], cast: (t: Tensor, to: DType) => Tensor, onDevice: (t: Tensor) => boolean,
): readonly Tensor[] {
  const low = autocastState.dtype;
  if (!low) return inputs;
  const category = categoryOf(op);
  if (!category) return inputs;
  const floats = inputs.filter((t) => isFloat(t.dtype) && onDevice(t));
  if (!floats.length) return inputs;
  const to = category === 'lower' ? low : category === 'widen' ? 'f32' : widest(floats);
  if (category === 'promote' && floats.every((t) => t.dtype === to)) return inputs;
  return inputs.map((t) => (floats.includes(t) && t.dtype !== to ? cast(t, to) : t));
}

function widest(ts: readonly Tensor[]): DType {
  return ts.some((t) => t.dtype === 'f32') ? 'f32' : ts[0]!.dtype;
}

/** Options of autocast, as torch.amp.autocast's. */
export interface AutocastOptions {
  /** The dtype of the lowered ops: float16 (the default; bfloat16 does not exist in WebGPU). */
  readonly dtype?: 'float16' | 'half' | 'f16';
  /** False runs `fn` without autocast (default true), as `enabled=False`. */
  readonly enabled?: boolean;
}

/**
 * Runs `fn` (synchronous: a forward pass and its loss) with autocast on WebGPU tensors, as
 * `with torch.autocast('cuda'):` does, and returns its result:
 *
 *   const loss = kiln.amp.autocast('webgpu', () => crossEntropy(model.call(x), y));
 *   await scaler.scale(loss).backward();
 *
 * Regions nest (an inner `enabled: false` turns autocast off within it). Backward runs outside
 * the region, as PyTorch recommends: the gradient of each op comes in the dtype it ran in.
 * An asynchronous `fn` is refused: other code could run inside the region at each of its awaits.
 */
export function autocast<T>(deviceType: 'webgpu' | 'cpu', fn: () => T, opts: AutocastOptions = {}): T {
  if (deviceType === 'cpu') {
    throw new KilnError("autocast('cpu') is not supported: PyTorch's CPU autocast computes in bfloat16, which kiln does not have; use autocast('webgpu')");
  }
  if (deviceType !== 'webgpu') throw new KilnError(`autocast: unknown device type '${String(deviceType)}' (use 'webgpu')`);
  const dtype = opts.dtype ?? 'float16';
  if (dtype !== 'float16' && dtype !== 'half' && dtype !== 'f16') {
    throw new KilnError(`autocast: dtype must be float16 on WebGPU, got '${String(dtype)}'`);
  }
  const outer = autocastState.dtype;
  autocastState.dtype = opts.enabled === false ? undefined : 'f16';
  try {
    const result = fn();
    if (result instanceof Promise) {
      result.catch(() => undefined);
      throw new KilnError('autocast: fn must be synchronous (the forward pass); await what you need before or after the region');
    }
    return result;
  } finally {
    autocastState.dtype = outer;
  }
}

/** Whether an autocast region is running, as torch.is_autocast_enabled(). */
export function isAutocastEnabled(): boolean {
  return autocastState.dtype !== undefined;
}
