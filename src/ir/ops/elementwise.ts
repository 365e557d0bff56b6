import type { AttrSpecs, AttrsOf } from '../attrs.js';
import { OpTypeError } from '../errors.js';
import { roundToFloat, wgslFloat } from '../wgsl-literal.js';
import { isFloat, type DType } from '../types.js';
import { erf } from './erf.js';
import { defineOp, type ElementwiseMath } from './registry.js';
import { broadcastShapes, sameDType } from './shape-util.js';

const isInt = (d: DType) => d === 'i32' || d === 'u32';

interface ElementwiseOptions<A extends AttrSpecs> {
  /** Rejects integer operands (transcendental math, pow). */
  readonly floatOnly?: boolean;
  readonly attrs?: A;
  /** Checks attribute values against the operand dtype; throws OpTypeError. */
  readonly checkAttrs?: (attrs: AttrsOf<A>, dtype: DType) => void;
  /** Mixed-precision policy (see OpSpec.precision). */
  readonly precision?: 'f32';
}

function checkDType(dtype: DType, floatOnly: boolean | undefined): void {
  if (dtype === 'bool') throw new OpTypeError('does not take bool (cast it first)');
  if (floatOnly && !isFloat(dtype)) throw new OpTypeError(`needs a float input, got ${dtype} (cast it first)`);
}

function defineUnary<const A extends AttrSpecs = {}>(name: string, math: ElementwiseMath<A>, opts: ElementwiseOptions<A> = {}): void {
  defineOp<A>({
    name, kind: 'elementwise', inputs: 1, math, ...(opts.attrs ? { attrs: opts.attrs } : {}),
    ...(opts.precision ? { precision: opts.precision } : {}),
    infer: ([x], attrs) => {
      checkDType(x!.dtype, opts.floatOnly);
      opts.checkAttrs?.(attrs, x!.dtype);
      return [{ dtype: x!.dtype, shape: x!.shape }];
    },
  });
}

function defineBinary(name: string, math: ElementwiseMath<{}>, opts: ElementwiseOptions<{}> = {}): void {
  defineOp({
    name, kind: 'elementwise', inputs: 2, math,
    infer: (ins) => {
      const dtype = sameDType(ins);
      checkDType(dtype, opts.floatOnly);
      return [{ dtype, shape: broadcastShapes(ins.map((t) => t.shape)) }];
    },
  });
}

/** Requires float attributes to be finite: a WGSL literal cannot hold inf or NaN. */
function finite<K extends string>(...keys: K[]): (attrs: Readonly<Record<K, number>>) => void {
  return (attrs) => {
    for (const k of keys) {
      const v = attrs[k];
      if (!Number.isFinite(v)) throw new OpTypeError(`attribute ${k} must be finite, got ${v}`);
    }
  };
}

/** WGSL's float types: the ones that have NaN. */
const isFloatWgsl = (t: string) => t === 'f32' || t === 'f16';

/**
 * max or min in WGSL type `t`: floats through kiln_max_t / kiln_min_t, which give NaN when either
 * operand is NaN (WGSL's own leave that undefined, and backends drop the NaN); integers as WGSL's.
 */
function extreme(fn: 'max' | 'min', a: string, b: string, t: string): string {
  return isFloatWgsl(t) ? `kiln_${fn}_${t}(${a}, ${b})` : `${fn}(${a}, ${b})`;
}
function extremeHelpers(fn: 'max' | 'min', t: string): string[] {
  return isFloatWgsl(t) ? [`kiln_${fn}_${t}`] : [];
}

// ---------------------------------------------------------------------------------------------
// Arithmetic

defineBinary('add', { cpu: ([a, b]) => a! + b!, wgsl: ([a, b]) => `(${a} + ${b})` });
defineBinary('sub', { cpu: ([a, b]) => a! - b!, wgsl: ([a, b]) => `(${a} - ${b})` });
defineBinary('mul', {
  cpu: ([a, b], d) => (isInt(d) ? Math.imul(a!, b!) : a! * b!),
  wgsl: ([a, b]) => `(${a} * ${b})`,
});
defineBinary('div', {
  // WGSL integer division truncates toward zero, like Math.trunc; x/0 is defined as x.
  cpu: ([a, b], d) => (isInt(d) ? (b === 0 ? a! : Math.trunc(a! / b!)) : a! / b!),
  wgsl: ([a, b]) => `(${a} / ${b})`,
});
// NaN in either operand gives NaN (JavaScript's Math.max/min already do), as ONNX Max/Min and PyTorch.
defineBinary('maximum', { cpu: ([a, b]) => Math.max(a!, b!), wgsl: ([a, b], t) => extreme('max', a!, b!, t), helpers: (t) => extremeHelpers('max', t) });
defineBinary('minimum', { cpu: ([a, b]) => Math.min(a!, b!), wgsl: ([a, b], t) => extreme('min', a!, b!, t), helpers: (t) => extremeHelpers('min', t) });
/** C/NumPy pow: a negative base takes integer exponents (x^2, x^3); others give NaN. */
defineBinary('pow', {
  cpu: ([a, b]) => Math.pow(a!, b!),
  wgsl: ([a, b], t) => `kiln_pow_${t}(${a}, ${b})`,
  helpers: (t) => [`kiln_pow_${t}`],
}, { floatOnly: true });

defineUnary('neg', {
  cpu: ([x]) => -x!,
  // WGSL has no unary minus on u32; 0u - x wraps exactly like the host's Uint32Array store.
  wgsl: ([x], t) => (t === 'u32' ? `(0u - ${x})` : `(-${x})`),
});
defineUnary('abs', { cpu: ([x]) => Math.abs(x!), wgsl: ([x]) => `abs(${x})` });

// ---------------------------------------------------------------------------------------------
// Activations

// Activations keep NaN (relu(NaN) is NaN, as in PyTorch and ONNX); leaky_relu and hardswish
// already do, as NaN * alpha and NaN * relu6(...) are NaN.
defineUnary('relu', {
  cpu: ([x]) => (x! > 0 || Number.isNaN(x) ? x! : 0),
  wgsl: ([x], t) => extreme('max', x!, `${t}(0)`, t),
  helpers: (t) => extremeHelpers('max', t),
});
/** leaky_relu's attribute: the slope below zero. */
export const leakyReluAttrs = { alpha: { kind: 'float', default: 0.01 } } as const;
defineUnary('leaky_relu', {
  cpu: ([x], _, a) => (x! >= 0 ? x! : a.alpha * x!),
  wgsl: ([x], t, a) => `select(${wgslFloat(a.alpha, t)} * ${x}, ${x}, ${x} >= ${t}(0))`,
}, { floatOnly: true, attrs: leakyReluAttrs, checkAttrs: finite('alpha') });
defineUnary('sigmoid', {
  cpu: ([x]) => 1 / (1 + Math.exp(-x!)),
  // exp(-x) overflowing to inf for very negative x correctly gives 0.
  wgsl: ([x], t) => `(${t}(1) / (${t}(1) + exp(-${x})))`,
}, { floatOnly: true });
defineUnary('silu', {
  cpu: ([x]) => x! / (1 + Math.exp(-x!)),
  wgsl: ([x], t) => `(${x} / (${t}(1) + exp(-${x})))`,
}, { floatOnly: true });
defineUnary('tanh', {
  cpu: ([x]) => Math.tanh(x!),
  wgsl: ([x], t) => tanhWgsl(x, t),
  helpers: (t) => [`kiln_tanh_${t}`],
}, { floatOnly: true });
/** ONNX HardSigmoid: max(0, min(1, alpha*x + beta)); the defaults are PyTorch's hardsigmoid. */
defineUnary('hardsigmoid', {
  cpu: ([x], _, a) => Math.max(0, Math.min(1, a.alpha * x! + a.beta)),
  wgsl: ([x], t, a) => extreme('max', `${t}(0)`, extreme('min', `${t}(1)`, `${wgslFloat(a.alpha, t)} * ${x} + ${wgslFloat(a.beta, t)}`, t), t),
  helpers: (t) => [...extremeHelpers('max', t), ...extremeHelpers('min', t)],
}, { floatOnly: true, attrs: { alpha: { kind: 'float', default: 1 / 6 }, beta: { kind: 'float', default: 0.5 } }, checkAttrs: finite('alpha', 'beta') });
/** x * relu6(x + 3) / 6, as PyTorch's hardswish. */
defineUnary('hardswish', {
  cpu: ([x]) => (x! * Math.min(Math.max(x! + 3, 0), 6)) / 6,
  wgsl: ([x], t) => `(${x} * min(max(${x} + ${t}(3), ${t}(0)), ${t}(6)) / ${t}(6))`,
}, { floatOnly: true });

const SQRT_HALF = Math.SQRT1_2;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
/** PyTorch's gelu: `approximate` 'none' is x * Phi(x) through erf, 'tanh' its tanh approximation. */
defineUnary('gelu', {
  cpu: ([x], _, a) => (a.approximate === 'tanh'
    ? 0.5 * x! * (1 + Math.tanh(SQRT_2_OVER_PI * (x! + 0.044715 * x! * x! * x!)))
    : 0.5 * x! * (1 + erf(x! * SQRT_HALF))),
  wgsl: ([x], t, a) => {
    const half = `${t}(0.5) * ${x}`;
    if (a.approximate === 'tanh') {
      const inner = `${wgslFloat(SQRT_2_OVER_PI, t)} * (${x} + ${wgslFloat(0.044715, t)} * ${x} * ${x} * ${x})`;
      return `(${half} * (${t}(1) + ${tanhWgsl(inner, t)}))`;
    }
    return `(${half} * (${t}(1) + kiln_erf_${t}(${x} * ${wgslFloat(SQRT_HALF, t)})))`;
  },
  helpers: (t, _, a) => [a?.approximate === 'tanh' ? `kiln_tanh_${t}` : `kiln_erf_${t}`],
}, {
  floatOnly: true, attrs: { approximate: { kind: 'string', default: 'none' } },
  checkAttrs: (a) => {
    if (a.approximate !== 'none' && a.approximate !== 'tanh') {
      throw new OpTypeError(`attribute approximate must be "none" or "tanh", got ${JSON.stringify(a.approximate)}`);
    }
  },
});

/** tanh through kiln's helper (see kiln_tanh_f32: WGSL's own loses precision near 0 and may overflow). */
function tanhWgsl(x: string, t: string): string {
  return `kiln_tanh_${t}(${x})`;
}

// ---------------------------------------------------------------------------------------------
// Transcendental and friends (float only)

defineUnary('exp', { cpu: ([x]) => Math.exp(x!), wgsl: ([x]) => `exp(${x})` }, { floatOnly: true, precision: 'f32' });
defineUnary('log', { cpu: ([x]) => Math.log(x!), wgsl: ([x]) => `log(${x})` }, { floatOnly: true, precision: 'f32' });
defineUnary('sqrt', { cpu: ([x]) => Math.sqrt(x!), wgsl: ([x]) => `sqrt(${x})` }, { floatOnly: true });
defineUnary('rsqrt', { cpu: ([x]) => 1 / Math.sqrt(x!), wgsl: ([x]) => `inverseSqrt(${x})` }, { floatOnly: true });
/**
 * softplus(x) = log(1 + exp(x)), as max(x, 0) + log1p(exp(-|x|)): never overflows, and keeps full
 * relative precision where exp(-|x|) is tiny (log(1 + e) rounds 1 + e and loses it; mish needs it).
 */
defineUnary('softplus', {
  cpu: ([x]) => Math.max(x!, 0) + Math.log1p(Math.exp(-Math.abs(x!))),
  wgsl: ([x], t) => `kiln_softplus_${t}(${x})`,
  helpers: (t) => [`kiln_softplus_${t}`],
}, { floatOnly: true });
defineUnary('erf', {
  cpu: ([x]) => erf(x!),
  wgsl: ([x], t) => `kiln_erf_${t}(${x})`,
  helpers: (t) => [`kiln_erf_${t}`],
}, { floatOnly: true });

// ---------------------------------------------------------------------------------------------
// clip

const INT_RANGE = { i32: [-(2 ** 31), 2 ** 31 - 1], u32: [0, 2 ** 32 - 1] } as const;

/** clip's attributes: either bound may be absent. */
export const clipAttrs = { min: { kind: 'float', optional: true }, max: { kind: 'float', optional: true } } as const;
type ClipAttrs = AttrsOf<typeof clipAttrs>;

/**
 * clip's effective bounds for operands of `dtype`: absent bounds stay absent; float bounds are
 * rounded to the dtype (a bound of -inf / +inf, or one that rounds to it, clips nothing and is
 * dropped); integer bounds are clamped into the dtype's range, which changes no result.
 */
export function clipBounds(attrs: ClipAttrs, dtype: DType): { lo?: number; hi?: number } {
  const out: { lo?: number; hi?: number } = {};
  for (const [key, side] of [['min', 'lo'], ['max', 'hi']] as const) {
    const v = attrs[key];
    if (v === undefined) continue;
    if (dtype === 'i32' || dtype === 'u32') {
      const [lo, hi] = INT_RANGE[dtype];
      out[side] = Math.min(hi, Math.max(lo, v));
    } else {
      const r = roundToFloat(v, dtype);
      if (Number.isFinite(r)) out[side] = r;
    }
  }
  return out;
}

function checkClipAttrs(attrs: ClipAttrs, dtype: DType): void {
  for (const key of ['min', 'max'] as const) {
    const v = attrs[key];
    if (v === undefined) continue;
    if (Number.isNaN(v)) throw new OpTypeError(`attribute ${key} is NaN`);
    if (isInt(dtype) && !Number.isInteger(v) && Number.isFinite(v)) {
      throw new OpTypeError(`${key}=${v} is not an integer, but the input is ${dtype}`);
    }
  }
  // A bound that clips everything to ±inf has no WGSL literal; it is surely a mistake anyway.
  const { lo, hi } = { lo: attrs.min, hi: attrs.max };
  const b = clipBounds(attrs, dtype);
  if (isFloat(dtype) && ((lo !== undefined && lo > 0 && b.lo === undefined) || (hi !== undefined && hi < 0 && b.hi === undefined))) {
    throw new OpTypeError(`bounds min=${lo} max=${hi} would clip every element to an infinity of ${dtype}`);
  }
}

/** PyTorch's clamp: min(max(x, min), max), so min > max gives max; either bound may be absent; clip(NaN) is NaN. */
defineUnary('clip', {
  cpu: ([x], dtype, a) => {
    const { lo, hi } = clipBounds(a, dtype);
    let r = x!;
    if (lo !== undefined) r = Math.max(r, lo);
    if (hi !== undefined) r = Math.min(r, hi);
    return r;
  },
  wgsl: ([x], t, a) => {
    const dtype = t as DType; // clip's operand and result types are f32, f16, i32 or u32
    const { lo, hi } = clipBounds(a, dtype);
    const lit = (v: number) => (isInt(dtype) ? `${t}(${v})` : wgslFloat(v, t));
    let r = x!;
    if (lo !== undefined) r = extreme('max', r, lit(lo), t);
    if (hi !== undefined) r = extreme('min', r, lit(hi), t);
    return r;
  },
  helpers: (t) => [...extremeHelpers('max', t), ...extremeHelpers('min', t)],
}, { attrs: clipAttrs, checkAttrs: checkClipAttrs });
