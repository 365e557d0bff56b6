import type { DType } from '../types.js';
import { OpTypeError } from '../errors.js';
import { defineOp, type ElementwiseMath } from './registry.js';
import { broadcastShapes, sameDType } from './shape-util.js';

const isInt = (d: DType) => d === 'i32' || d === 'u32';

function defineUnary(name: string, math: ElementwiseMath, floatOnly = false): void {
  defineOp({
    name, kind: 'elementwise', inputs: 1, math,
    infer: ([x]) => {
      if (floatOnly && x!.dtype !== 'f32' && x!.dtype !== 'f16') throw new OpTypeError(`needs a float input, got ${x!.dtype}`);
      if (x!.dtype === 'bool') throw new OpTypeError('does not take bool');
      return [{ dtype: x!.dtype, shape: x!.shape }];
    },
  });
}

function defineBinary(name: string, math: ElementwiseMath): void {
  defineOp({
    name, kind: 'elementwise', inputs: 2, math,
    infer: (ins) => {
      const dtype = sameDType(ins);
      if (dtype === 'bool') throw new OpTypeError('does not take bool');
      return [{ dtype, shape: broadcastShapes(ins.map((t) => t.shape)) }];
    },
  });
}

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

defineUnary('relu', { cpu: ([x]) => (x! > 0 ? x! : 0), wgsl: ([x], t) => `max(${x}, ${t}(0))` });
defineUnary('neg', { cpu: ([x]) => -x!, wgsl: ([x]) => `(-${x})` });
