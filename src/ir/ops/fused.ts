import { isGraphAttr } from '../attrs.js';
import { OpTypeError } from '../errors.js';
import { formatShapeType, shapesEqual } from '../types.js';
import { defineOp } from './registry.js';

/**
 * Several ops run as one kernel: `body` is a closed graph whose parameters are the node's
 * operands (in order) and whose results are the node's results. Fusion creates these; the
 * body's name is the kernel's (e.g. `matmul_add_relu`).
 */
defineOp({
  name: 'fused', kind: 'opaque', inputs: [0, 64],
  attrs: { body: { kind: 'graph' } },
  infer: (inputs, attrs) => {
    const body = attrs.body;
    if (!isGraphAttr(body)) throw new OpTypeError('needs a body graph');
    if (body.inputs.length !== inputs.length) {
      throw new OpTypeError(`body ${body.name} takes ${body.inputs.length} operands but the node passes ${inputs.length}`);
    }
    body.inputs.forEach((p, i) => {
      const t = inputs[i]!;
      if (p.type.dtype !== t.dtype || !shapesEqual(p.type.shape, t.shape)) {
        throw new OpTypeError(`operand ${i} is ${formatShapeType(t.dtype, t.shape)} but body ${body.name} expects ${formatShapeType(p.type.dtype, p.type.shape)}`);
      }
    });
    return body.outputs.map((v) => ({ dtype: v.type.dtype, shape: v.type.shape }));
  },
});
