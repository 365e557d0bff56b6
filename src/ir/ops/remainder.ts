// Remainders: `mod` takes the sign of the divisor (Python, NumPy's mod, ONNX Mod with fmod=0),
// `fmod` the sign of the dividend (C's fmod, ONNX Mod with fmod=1). Both are exact: the result
// is representable, and the GPU computes it without rounding (WGSL's float % is x - y trunc(x/y),
// which is not, and its integer % truncates). An integer remainder by 0 is 0, as NumPy gives.
import { OpTypeError } from '../errors.js';
import { defineOp } from './registry.js';
import { broadcastShapes, sameDType } from './shape-util.js';

/** C fmod; for integers the truncating remainder, 0 for a divisor of 0. */
function fmod(a: number, b: number, integer: boolean): number {
  if (integer && b === 0) return 0;
  return a % b; // JavaScript's % is exact and truncating, like C's fmod
}

/** The remainder with the divisor's sign: fmod moved by one divisor when the signs differ. */
function mod(a: number, b: number, integer: boolean): number {
  const r = fmod(a, b, integer);
  return r !== 0 && (r < 0) !== (b < 0) ? r + b : r;
}

for (const [name, f] of [['mod', mod], ['fmod', fmod]] as const) {
  defineOp({
    name, kind: 'elementwise', inputs: 2,
    math: {
      cpu: ([a, b], dtype) => f(a!, b!, dtype === 'i32' || dtype === 'u32'),
      wgsl: ([a, b], t) => `kiln_${name}_${t}(${a}, ${b})`,
      helpers: (t) => [`kiln_${name}_${t}`],
    },
    infer: (ins) => {
      const dtype = sameDType(ins);
      if (dtype === 'bool') throw new OpTypeError('does not take bool (cast it first)');
      return [{ dtype, shape: broadcastShapes(ins.map((t) => t.shape)) }];
    },
  });
}
