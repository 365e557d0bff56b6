import { KilnError } from '../../ir/errors.js';
import { apply, where, type Tensor } from './tensor.js';

// Activations of torch.nn.functional beyond the ones Tensor has as methods, as compositions of
// ops with gradient rules (softplus is the IR's, which never overflows).

/** min(max(x, minVal), maxVal), as F.hardtanh. */
export function hardtanh(x: Tensor, minVal = -1, maxVal = 1): Tensor {
  if (!(minVal < maxVal)) throw new KilnError(`hardtanh: minVal (${minVal}) must be below maxVal (${maxVal})`);
  return x.clamp(minVal, maxVal);
}

/** min(max(x, 0), 6), as F.relu6. */
export function relu6(x: Tensor): Tensor {
  return x.clamp(0, 6);
}

/** log(1 + exp(beta x)) / beta, and x itself where beta x > threshold, as F.softplus. */
export function softplus(x: Tensor, beta = 1, threshold = 20): Tensor {
  const bx = beta === 1 ? x : x.mul(beta);
  const soft = apply('softplus', [bx]);
  return where(bx.gt(threshold), x, beta === 1 ? soft : soft.div(beta));
}

/** x tanh(softplus(x)), as F.mish. */
export function mish(x: Tensor): Tensor {
  return x.mul(apply('softplus', [x]).tanh());
}

/** log(sigmoid(x)) = -softplus(-x), as F.logsigmoid. */
export function logsigmoid(x: Tensor): Tensor {
  return apply('softplus', [x.neg()]).neg();
}

/** x / (1 + |x|), as F.softsign. */
export function softsign(x: Tensor): Tensor {
  return x.div(x.abs().add(1));
}

/** x - tanh(x), as F.tanhshrink. */
export function tanhshrink(x: Tensor): Tensor {
  return x.sub(x.tanh());
}

/** max(0, x) + min(0, alpha (exp(x / alpha) - 1)), as F.celu. */
export function celu(x: Tensor, alpha = 1): Tensor {
  if (alpha === 0) throw new KilnError('celu: alpha cannot be 0');
  return where(x.gt(0), x, x.div(alpha).exp().sub(1).mul(alpha));
}

/** scale (max(0, x) + min(0, alpha (exp(x) - 1))) with PyTorch's constants, as F.selu. */
export function selu(x: Tensor): Tensor {
  const [alpha, scale] = [1.6732632423543772848170429916717, 1.0507009873554804934193349852946];
  return where(x.gt(0), x, x.exp().sub(1).mul(alpha)).mul(scale);
}

/** a sigmoid(b), a and b the halves of `dim`, as F.glu. */
export function glu(x: Tensor, dim = -1): Tensor {
  const n = x.shape.at(dim);
  if (n === undefined || n % 2 !== 0) throw new KilnError(`glu: halving dimension ${dim} of [${x.shape.join(', ')}] needs an even size`);
  const [a, b] = x.chunk(2, dim) as [Tensor, Tensor];
  return a.mul(b.sigmoid());
}
