// ONNX Runtime's graph-optimizer fusions (com.microsoft) that an optimized model saved from ORT
// holds: FusedConv and FusedGemm are Conv and Gemm (mapped as those are) followed by an
// activation named by attribute, FusedConv adding its Z input before it, as ORT's kernels do.
import { typeOf, type Operand } from '../builder.js';
import { defineOnnxOp, onnxMapper, type OnnxNode } from '../node.js';
import { ms } from './contrib.js';
import { castTo } from './helpers.js';

/** The activations ORT fuses, each from its parameters (activation_params, or activation_alpha...). */
const ACTIVATIONS: Readonly<Record<string, (n: OnnxNode, x: Operand, params: readonly (number | undefined)[]) => Operand>> = {
  Relu: (n, x) => n.b.op('relu', [x]),
  Tanh: (n, x) => n.b.op('tanh', [x]),
  Sigmoid: (n, x) => n.b.op('sigmoid', [x]),
  LeakyRelu: (n, x, [alpha = 0.01]) => n.b.op('leaky_relu', [x], { alpha }),
  Clip: (n, x, [min, max]) => n.b.op('clip', [x], { ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) }),
  HardSigmoid: (n, x, [alpha = 0.2, beta = 0.5]) => n.b.op('hardsigmoid', [x], { alpha, beta }),
};

/** `x` through the node's `activation` attribute (none: unchanged). */
function activate(n: OnnxNode, x: Operand, params: readonly (number | undefined)[]): Operand {
  const name = n.attrs.string('activation', '');
  if (name === '') return x;
  const fn = ACTIVATIONS[name];
  if (!fn) n.unsupported(`activation '${name}' is not supported (${Object.keys(ACTIVATIONS).join(', ')} are)`);
  return fn(n, x, params);
}

/** The node mapped as `op` (Conv, Gemm: one tensor out). */
function mappedAs(n: OnnxNode, op: string): Operand {
  const out = onnxMapper(op)!(n);
  return (Array.isArray(out) ? out[0] : out) as Operand;
}

defineOnnxOp(ms('FusedConv'), (n) => {
  let y = mappedAs(n, 'Conv');
  const z = n.optional(3);
  if (z) y = n.b.op('add', [y, castTo(n.b, z, typeOf(y).dtype)]);
  return activate(n, y, n.attrs.floats('activation_params', []));
});

defineOnnxOp(ms('FusedGemm'), (n) => {
  const params = ['activation_alpha', 'activation_beta', 'activation_gamma'].map((a) => (n.attrs.has(a) ? n.attrs.float(a, 0) : undefined));
  return activate(n, mappedAs(n, 'Gemm'), params);
});
