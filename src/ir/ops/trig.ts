// Trigonometric and hyperbolic functions, and log1p and expm1 (float operands only). The CPU
// computes them in double; the GPU through kiln's WGSL helpers (src/codegen/kernels/wgsl-trig.ts),
// since WGSL's builtins are allowed loose accuracy, lose relative precision near zero (asin,
// sinh, asinh, atanh, log(1 + x), exp(x) - 1...) or overflow in intermediate steps (cosh,
// asinh, acosh of large arguments).
import { OpTypeError } from '../errors.js';
import { isFloat } from '../types.js';
import { defineOp } from './registry.js';

/** name -> the double-precision reference. */
const TRIG: Readonly<Record<string, (x: number) => number>> = {
  sin: Math.sin, cos: Math.cos, tan: Math.tan,
  asin: Math.asin, acos: Math.acos, atan: Math.atan,
  sinh: Math.sinh, cosh: Math.cosh,
  asinh: Math.asinh, acosh: Math.acosh, atanh: Math.atanh,
  log1p: Math.log1p, expm1: Math.expm1,
};

/** Range-sensitive like exp (sinh(12) overflows f16): they stay f32 under fp16 lowering. */
const KEEP_F32 = new Set(['sinh', 'cosh', 'expm1']);

for (const [name, f] of Object.entries(TRIG)) {
  defineOp({
    name, kind: 'elementwise', inputs: 1, ...(KEEP_F32.has(name) ? { precision: 'f32' as const } : {}),
    math: {
      cpu: ([x]) => f(x!),
      wgsl: ([x], t) => `kiln_${name}_${t}(${x})`,
      helpers: (t) => [`kiln_${name}_${t}`],
    },
    infer: ([x]) => {
      if (!isFloat(x!.dtype)) throw new OpTypeError(`needs a float input, got ${x!.dtype} (cast it first)`);
      return [{ dtype: x!.dtype, shape: x!.shape }];
    },
  });
}
