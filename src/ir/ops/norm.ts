import { OpTypeError } from '../errors.js';
import { formatShapeType, isFloat, type Shape, type TensorType } from '../types.js';
import type { Dim } from '../size-expr.js';
import { wgslFloat } from '../wgsl-literal.js';
import { defineOp } from './registry.js';
import { broadcastStrides, normalizeAxes } from './shape-util.js';

/**
 * Requires `t` to broadcast to `target` one way (NumPy rules, without growing `target`):
 * how ONNX lets LayerNormalization's scale and bias cover the normalised dimensions.
 */
function checkUnidirectional(what: string, t: TensorType, target: Shape): void {
  const off = target.length - t.shape.length;
  if (off < 0 || t.shape.some((d, i) => d !== 1 && d !== target[i + off])) {
    throw new OpTypeError(`${what} ${formatShapeType(t.dtype, t.shape)} does not broadcast to the normalised shape [${target.join(',')}]`);
  }
}

function checkEpsilon(eps: number): void {
  if (!Number.isFinite(eps) || eps < 0) throw new OpTypeError(`epsilon must be a finite number >= 0, got ${eps}`);
}

/** Where layer_norm's normalised dimensions start, given its `axis` attribute. */
export function layerNormStart(rank: number, axis: number): number {
  return normalizeAxes([axis], rank)[0]!;
}

/** layer_norm's attributes. */
export const layerNormAttrs = { axis: { kind: 'int', default: -1 }, epsilon: { kind: 'float', default: 1e-5 } } as const;

// Normalises over dimensions [axis, rank) like ONNX LayerNormalization: biased variance,
// then optional weight and bias broadcast over the normalised dimensions.
defineOp({
  name: 'layer_norm', kind: 'reduction', inputs: [1, 3], precision: 'f32',
  attrs: layerNormAttrs,
  infer: ([x, ...params], attrs) => {
    if (!isFloat(x!.dtype)) throw new OpTypeError(`needs a float input, got ${x!.dtype}`);
    if (x!.shape.length === 0) throw new OpTypeError('needs an input of rank >= 1, got a scalar');
    checkEpsilon(attrs.epsilon);
    const normShape = x!.shape.slice(layerNormStart(x!.shape.length, attrs.axis));
    params.forEach((p, i) => {
      const what = i === 0 ? 'weight' : 'bias';
      if (p.dtype !== x!.dtype) throw new OpTypeError(`${what} is ${p.dtype} but the input is ${x!.dtype} (insert a cast)`);
      checkUnidirectional(what, p, normShape);
    });
    return [{ dtype: x!.dtype, shape: x!.shape }];
  },
});

/** Strides of a [C] parameter of batch_norm in the coordinates of its [N, C, ...] output. */
export function channelStrides(out: readonly Dim[]): number[] {
  return out.map((_, i) => (i === 1 ? 1 : 0));
}

/** batch_norm's attributes. */
export const batchNormAttrs = { epsilon: { kind: 'float', default: 1e-5 } } as const;

// Inference batch normalisation: y = (x - mean) / sqrt(var + epsilon) * scale + bias per
// channel (dimension 1). Elementwise: each [C] parameter is broadcast along dimension 1.
defineOp({
  name: 'batch_norm', kind: 'elementwise', inputs: 5, precision: 'f32',
  attrs: batchNormAttrs,
  infer: ([x, ...params], attrs) => {
    if (!isFloat(x!.dtype)) throw new OpTypeError(`needs a float input, got ${x!.dtype}`);
    if (x!.shape.length < 2) throw new OpTypeError(`needs an input [N, C, ...] of rank >= 2, got ${formatShapeType(x!.dtype, x!.shape)}`);
    checkEpsilon(attrs.epsilon);
    const c = x!.shape[1]!;
    ['scale', 'bias', 'mean', 'var'].forEach((what, i) => {
      const p = params[i]!;
      if (p.dtype !== x!.dtype) throw new OpTypeError(`${what} is ${p.dtype} but the input is ${x!.dtype} (insert a cast)`);
      if (p.shape.length !== 1 || p.shape[0] !== c) {
        throw new OpTypeError(`${what} must be [${c}] (one per channel of ${formatShapeType(x!.dtype, x!.shape)}), got ${formatShapeType(p.dtype, p.shape)}`);
      }
    });
    return [{ dtype: x!.dtype, shape: x!.shape }];
  },
  operandStrides: (inputs, out) => [broadcastStrides(inputs[0]!, out), ...inputs.slice(1).map(() => channelStrides(out))],
  math: {
    cpu: ([x, scale, bias, mean, v], _, attrs) => ((x! - mean!) / Math.sqrt(v! + attrs.epsilon)) * scale! + bias!,
    wgsl: ([x, scale, bias, mean, v], t, attrs) =>
      `((${x} - ${mean}) / sqrt(${v} + ${wgslFloat(attrs.epsilon, t)}) * ${scale} + ${bias})`,
  },
});
