import { KilnError } from '../../ir/errors.js';
import { normDim } from './dims.js';
import { hostTensorData } from './host-values.js';
import type { Tensor } from './tensor.js';

// torch.nn.functional's one_hot, normalize and cosine_similarity, and torch.cdist, as compositions of ops with
// gradient rules.

/**
 * Class indices (int32) to one-hot rows of `numClasses` (default: the largest index + 1, read
 * from the host), as F.one_hot: int32 [..., numClasses].
 */
export function oneHot(indices: Tensor, numClasses = -1): Tensor {
  if (indices.dtype !== 'i32' && indices.dtype !== 'u32') throw new KilnError(`oneHot: indices must be int32, got ${indices.dtype}`);
  let n = numClasses;
  if (n < 0) {
    const values = indices.tolist() as unknown;
    const all = [values].flat(Infinity as 1) as number[];
    n = all.length ? Math.max(...all) + 1 : 0;
  }
  const classes = indices.constantLike(hostTensorData(indices.dtype, [n], Array.from({ length: n }, (_, i) => i)));
  return indices.unsqueeze(-1).eq(classes).type('i32');
}

/** x / max(||x||_p, eps) along `dim` (default 1), as F.normalize. */
export function normalize(x: Tensor, opts: { p?: number; dim?: number; eps?: number } = {}): Tensor {
  const dim = normDim(opts.dim ?? 1, x.shape.length);
  return x.div(x.norm(opts.p ?? 2, dim, true).clamp({ min: opts.eps ?? 1e-12 }));
}

/**
 * The cosine of the angle between x1 and x2 along `dim` (default 1), broadcasting, as
 * F.cosine_similarity: x1 . x2 / (max(||x1||, eps) max(||x2||, eps)).
 */
export function cosineSimilarity(x1: Tensor, x2: Tensor, opts: { dim?: number; eps?: number } = {}): Tensor {
  const eps = opts.eps ?? 1e-8;
  const rank = Math.max(x1.shape.length, x2.shape.length);
  const dim = normDim(opts.dim ?? 1, rank);
  const n1 = x1.norm(2, dim - (rank - x1.shape.length)).clamp({ min: eps });
  const n2 = x2.norm(2, dim - (rank - x2.shape.length)).clamp({ min: eps });
  return x1.mul(x2).sum(dim).div(n1.mul(n2));
}

/**
 * The p-norm distance between each row of x1 [..., P, M] and each row of x2 [..., R, M]:
 * [..., P, R], as torch.cdist (p 2 by default), computed from the differences themselves (exact,
 * where PyTorch's matrix-product shortcut for large inputs cancels digits).
 */
export function cdist(x1: Tensor, x2: Tensor, p = 2): Tensor {
  if (x1.shape.length < 2 || x2.shape.length < 2 || x1.shape.at(-1) !== x2.shape.at(-1)) {
    throw new KilnError(`cdist: x1 [${x1.shape.join(',')}] and x2 [${x2.shape.join(',')}] must be [..., P, M] and [..., R, M] with the same M`);
  }
  return x1.unsqueeze(-2).sub(x2.unsqueeze(-3)).norm(p, -1);
}
