import { KilnError } from '../../ir/errors.js';
import type { TensorData } from '../../ir/tensor-data.js';
import { Tensor } from '../torch/tensor.js';

// A batch crossing from a worker thread to the main thread. Tensors cannot be posted as they are
// (they are class instances), so each becomes a tagged TensorData; the rest of the batch (arrays,
// plain objects, strings, numbers) is posted as it is. Data in a SharedArrayBuffer, where the
// default collate puts every batch it makes in a worker, is shared by postMessage, not copied:
// the main thread's tensors view the very memory the worker filled. Other data is copied.

const TENSOR = '__kilnTensor';

interface PostedTensor {
  readonly [TENSOR]: TensorData;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** `batch` made postable: tensors (on the CPU, concrete) as tagged TensorData. */
export function toPosted(batch: unknown): unknown {
  if (batch instanceof Tensor) {
    if (batch.deviceType !== 'cpu' || batch.isSymbolic) {
      throw new KilnError(`a worker thread's batch must hold CPU tensors (move to the device on the main thread), got a tensor on ${batch.device}`);
    }
    return { [TENSOR]: batch.data } satisfies PostedTensor;
  }
  if (Array.isArray(batch)) return batch.map(toPosted);
  if (isPlainObject(batch)) return Object.fromEntries(Object.entries(batch).map(([k, v]) => [k, toPosted(v)]));
  return batch;
}

/** The batch a worker posted, with its tensors rebuilt over the posted (shared) memory. */
export function fromPosted(posted: unknown): unknown {
  if (Array.isArray(posted)) return posted.map(fromPosted);
  if (isPlainObject(posted)) {
    if (Object.hasOwn(posted, TENSOR)) return Tensor.fromData((posted as unknown as PostedTensor)[TENSOR]);
    return Object.fromEntries(Object.entries(posted).map(([k, v]) => [k, fromPosted(v)]));
  }
  return posted;
}

/** Whether a tensor's data lives in shared memory (a batch a worker made with the default collate). */
export function isShared(t: Tensor): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && t.deviceType === 'cpu' && t.data.data.buffer instanceof SharedArrayBuffer;
}
