// Rounding to integers (float operands, float results): exact in WGSL and on the host.
import { OpTypeError } from '../errors.js';
import { isFloat } from '../types.js';
import { defineOp } from './registry.js';

/** Rounds halves to even, as ONNX Round, NumPy and WGSL's round do. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // halves up
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const ROUNDING: Readonly<Record<string, (x: number) => number>> = { floor: Math.floor, ceil: Math.ceil, round: roundHalfEven };

for (const [name, f] of Object.entries(ROUNDING)) {
  defineOp({
    name, kind: 'elementwise', inputs: 1,
    math: { cpu: ([x]) => f(x!), wgsl: ([x]) => `${name}(${x})` },
    infer: ([x]) => {
      if (!isFloat(x!.dtype)) throw new OpTypeError(`needs a float input, got ${x!.dtype}`);
      return [{ dtype: x!.dtype, shape: x!.shape }];
    },
  });
}
