import { KilnError } from '../../ir/errors.js';
import { numel } from '../../ir/types.js';
import { defaultRandom } from './random.js';
import { tensor, type Tensor } from './tensor.js';

// torch.nn.init, as kiln.nn.init: each fills a tensor in place (a parameter keeps its identity,
// its optimizer state and its device) with values drawn from the default generator
// (`manualSeed`), by PyTorch's formulas for the bounds and deviations.

/** The nonlinearities calculateGain knows. */
export type Nonlinearity = 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'conv_transpose1d' | 'conv_transpose2d' | 'conv_transpose3d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';

/** The recommended gain for a nonlinearity, as nn.init.calculate_gain (`param`: leaky_relu's negative slope, default 0.01). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear': case 'conv1d': case 'conv2d': case 'conv3d':
    case 'conv_transpose1d': case 'conv_transpose2d': case 'conv_transpose3d': case 'sigmoid':
      return 1;
    case 'tanh': return 5 / 3;
    case 'relu': return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu': return 3 / 4;
    default: throw new KilnError(`calculateGain: unsupported nonlinearity '${String(nonlinearity)}'`);
  }
}

/** [fanIn, fanOut] of a weight [out, in, ...kernel], as PyTorch computes them. */
function fans(t: Tensor, what: string): [number, number] {
  if (t.shape.length < 2) throw new KilnError(`${what}: fan in and fan out can not be computed for a tensor with fewer than 2 dimensions, got [${t.shape.join(', ')}]`);
  const receptive = numel(t.shape.slice(2));
  return [t.shape[1]! * receptive, t.shape[0]! * receptive];
}

/** Replaces t's values in place with `draw(i)` for each element. */
function fill(t: Tensor, draw: (i: number) => number): Tensor {
  const values = Array.from({ length: t.numel() }, (_, i) => draw(i));
  t.setData(tensor(values, { dtype: t.dtype, device: t.device }).reshape([...t.shape]));
  return t;
}

const rng = () => defaultRandom.current;

export function uniform_(t: Tensor, a = 0, b = 1): Tensor {
  return fill(t, () => rng().uniform(a, b));
}

export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  return fill(t, () => mean + std * rng().normal());
}

/** Normal values redrawn until inside [a, b], as nn.init.trunc_normal_. */
export function truncNormal_(t: Tensor, mean = 0, std = 1, a = -2, b = 2): Tensor {
  if (!(a < b)) throw new KilnError(`truncNormal_: a (${a}) must be below b (${b})`);
  return fill(t, () => {
    for (let k = 0; k < 10_000; k++) {
      const v = mean + std * rng().normal();
      if (v >= a && v <= b) return v;
    }
    throw new KilnError(`truncNormal_: [${a}, ${b}] is too far in the tail of N(${mean}, ${std}^2)`);
  });
}

export function constant_(t: Tensor, value: number): Tensor {
  return fill(t, () => value);
}

export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}

export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

/** The identity in a 2-D tensor, as nn.init.eye_. */
export function eye_(t: Tensor): Tensor {
  if (t.shape.length !== 2) throw new KilnError(`eye_: only 2-D tensors are supported, got [${t.shape.join(', ')}]`);
  const cols = t.shape[1]!;
  return fill(t, (i) => (Math.floor(i / cols) === i % cols ? 1 : 0));
}

/** Uniform in ±gain sqrt(6 / (fanIn + fanOut)) (Glorot), as nn.init.xavier_uniform_. */
export function xavierUniform_(t: Tensor, gain = 1): Tensor {
  const [fanIn, fanOut] = fans(t, 'xavierUniform_');
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -bound, bound);
}

/** Normal with std gain sqrt(2 / (fanIn + fanOut)), as nn.init.xavier_normal_. */
export function xavierNormal_(t: Tensor, gain = 1): Tensor {
  const [fanIn, fanOut] = fans(t, 'xavierNormal_');
  return normal_(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)));
}

export interface KaimingOptions {
  /** leaky_relu's negative slope (default 0). */
  readonly a?: number;
  /** 'fanIn' (default) keeps the forward pass's variance; 'fanOut' the backward's. */
  readonly mode?: 'fanIn' | 'fanOut';
  readonly nonlinearity?: Nonlinearity;
}

function kaimingStd(t: Tensor, opts: KaimingOptions, what: string): number {
  const [fanIn, fanOut] = fans(t, what);
  const gain = calculateGain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0);
  return gain / Math.sqrt((opts.mode ?? 'fanIn') === 'fanIn' ? fanIn : fanOut);
}

/** Uniform in ±sqrt(3) gain / sqrt(fan) (He), as nn.init.kaiming_uniform_. */
export function kaimingUniform_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd(t, opts, 'kaimingUniform_');
  return uniform_(t, -bound, bound);
}

/** Normal with std gain / sqrt(fan) (He), as nn.init.kaiming_normal_. */
export function kaimingNormal_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  return normal_(t, 0, kaimingStd(t, opts, 'kaimingNormal_'));
}
