import { OpTypeError } from '../errors.js';
import { formatShapeType } from '../types.js';
import { defineOp } from './registry.js';
import { broadcastShapes, sameDType } from './shape-util.js';

/** NumPy matmul: [..., M, K] x [..., K, N] -> [..., M, N], batch dimensions broadcast. */
defineOp({
  name: 'matmul', kind: 'anchor', inputs: 2,
  infer: ([a, b]) => {
    const dtype = sameDType([a!, b!]);
    if (dtype === 'bool') throw new OpTypeError('does not take bool');
    if (a!.shape.length < 2 || b!.shape.length < 2) {
      throw new OpTypeError(`needs operands of rank >= 2, got ${formatShapeType(a!.dtype, a!.shape)} and ${formatShapeType(b!.dtype, b!.shape)} (unsqueeze vectors first)`);
    }
    const [m, k] = a!.shape.slice(-2) as [number, number];
    const [k2, n] = b!.shape.slice(-2) as [number, number];
    if (k !== k2) {
      throw new OpTypeError(`inner dimensions differ: ${formatShapeType(a!.dtype, a!.shape)} x ${formatShapeType(b!.dtype, b!.shape)} (${k} vs ${k2})`);
    }
    const batch = broadcastShapes([a!.shape.slice(0, -2), b!.shape.slice(0, -2)]);
    return [{ dtype, shape: [...batch, m, n] }];
  },
});
